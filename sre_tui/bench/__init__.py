"""`sre-tui bench`: start-up, log pane, pods pane and idle figures, side by side in one run.

Every measurement runs the real code in a real pseudo-terminal (the app's own output is
read back, so rendering and terminal writes are part of the cost). Nothing here is
imported by the app itself.
"""
