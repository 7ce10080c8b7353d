"""A DataTable whose drawn rows always follow its measured column widths."""

from __future__ import annotations

from collections.abc import Iterable

from textual.widgets import DataTable
from textual.widgets.data_table import RowKey


class Table(DataTable):
    """DataTable that redraws once new rows have been measured.

    Textual (8.2) measures rows added with `add_row` on the table's next idle, but a frame
    drawn before that idle caches lines cut at the header widths under a key the new
    widths do not change. A table that then stays still — the runbook list, a quiet alert
    list — kept its columns cut for good (seen one start in three). Invalidating those
    lines whenever a measure widens a column fixes it for every table of the app.
    """

    def _update_dimensions(self, new_rows: Iterable[RowKey]) -> None:
        before = [column.content_width for column in self.columns.values()]
        super()._update_dimensions(new_rows)
        if before != [column.content_width for column in self.columns.values()]:
            self._update_count += 1  # part of every render-cache key
            self._line_cache.clear()
            self.refresh()
