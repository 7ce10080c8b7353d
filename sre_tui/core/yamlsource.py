"""Safe YAML parsing that remembers where every value came from.

Runbooks are written by hand and may come from anywhere, so parsing refuses what a
plain `yaml.load` would happily do: tags that construct objects, alias bombs that expand
to millions of nodes, and files too large to be a runbook. Every value keeps its line so
validation errors can say `FILE:LINE`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import yaml

MAX_BYTES = 512 * 1024
MAX_NODES = 50_000  # after alias expansion; the largest shipped runbook has < 1,000
MAX_DEPTH = 64

Loc = tuple[str | int, ...]

# libyaml's parser is ~10x faster; both refuse object-constructing tags the same way.
_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class SourceError(Exception):
    """The text cannot be parsed as a runbook document."""

    def __init__(self, line: int, message: str) -> None:
        super().__init__(message)
        self.line = line
        self.message = message


@dataclass
class LineMap:
    """Maps a path inside the document (keys and list indexes) to a 1-based line."""

    lines: dict[Loc, int] = field(default_factory=dict)
    duplicates: list[tuple[int, str]] = field(default_factory=list)

    def line_of(self, loc: Loc) -> int:
        """Line of `loc`, or of its nearest ancestor that has one."""
        loc = tuple(loc)
        while loc:
            if loc in self.lines:
                return self.lines[loc]
            loc = loc[:-1]
        return self.lines.get((), 1)


def _count_nodes(node: yaml.Node, memo: dict[int, int], depth: int = 0) -> int:
    """Size of the document once aliases are expanded, computed without expanding."""
    if depth > MAX_DEPTH:
        raise SourceError(node.start_mark.line + 1, f"nesting deeper than {MAX_DEPTH} levels")
    key = id(node)
    if key in memo:
        return memo[key]
    memo[key] = 1  # guards against recursive aliases
    total = 1
    if isinstance(node, yaml.SequenceNode):
        for child in node.value:
            total += _count_nodes(child, memo, depth + 1)
    elif isinstance(node, yaml.MappingNode):
        for k, v in node.value:
            total += _count_nodes(k, memo, depth + 1) + _count_nodes(v, memo, depth + 1)
    if total > MAX_NODES:
        raise SourceError(
            node.start_mark.line + 1,
            f"document expands to more than {MAX_NODES} nodes (alias bomb?); refused",
        )
    memo[key] = total
    return total


def _map_lines(node: yaml.Node, loc: Loc, lines: LineMap, seen: set[int]) -> None:
    if id(node) in seen:  # an alias already mapped elsewhere
        return
    seen.add(id(node))
    lines.lines.setdefault(loc, node.start_mark.line + 1)
    if isinstance(node, yaml.SequenceNode):
        for index, child in enumerate(node.value):
            _map_lines(child, (*loc, index), lines, seen)
    elif isinstance(node, yaml.MappingNode):
        keys: set[str] = set()
        for k, v in node.value:
            name = k.value if isinstance(k, yaml.ScalarNode) else str(k.start_mark)
            if name in keys:
                lines.duplicates.append((k.start_mark.line + 1, f"duplicate key '{name}'"))
            keys.add(name)
            lines.lines[(*loc, name)] = k.start_mark.line + 1
            _map_lines(v, (*loc, name), lines, seen)


def parse(text: str) -> tuple[Any, LineMap]:
    """Parse one YAML document safely; raise SourceError with a line on any problem."""
    if len(text.encode("utf-8", "surrogatepass")) > MAX_BYTES:
        raise SourceError(1, f"file is larger than {MAX_BYTES // 1024} KiB; refused")
    loader = None
    try:
        loader = _Loader(text)
        node = loader.get_single_node()
        if node is None:
            raise SourceError(1, "file is empty")
        _count_nodes(node, {})
        lines = LineMap()
        _map_lines(node, (), lines, set())
        data = loader.construct_document(node)
    except SourceError:
        raise
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else 1
        problem = exc.problem or str(exc)
        if "constructor for the tag" in problem:
            problem = f"YAML tag not allowed here: {problem.split('tag', 1)[-1].strip()}"
        raise SourceError(line, f"YAML error: {problem}") from None
    except yaml.reader.ReaderError as exc:
        line = text[: exc.position].count("\n") + 1 if isinstance(exc.position, int) else 1
        char = exc.character if isinstance(exc.character, str) else chr(exc.character)
        raise SourceError(line, f"YAML error: character {char!r} is not allowed in YAML") from None
    except yaml.YAMLError as exc:
        first_line = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise SourceError(1, f"YAML error: {first_line}") from None
    except RecursionError:
        raise SourceError(1, "document nests too deeply") from None
    finally:
        if loader is not None:
            loader.dispose()
    return data, lines
