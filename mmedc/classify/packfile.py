"""Targeted edits of a pack file: set keys of one table in place, keeping every other line — comments,
other tables such as [quality] / [pii] that other stages own — exactly as they were."""
from __future__ import annotations

import re
from pathlib import Path

_HEADER = re.compile(r"^\s*\[\[?\s*([^\]]+?)\s*\]\]?\s*(#.*)?$")


def _fmt(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        return repr(round(v, 6))
    if isinstance(v, int):
        return str(v)
    return '"' + str(v).replace("\\", "\\\\").replace('"', '\\"') + '"'


def set_keys(text: str, table: str, values: dict) -> str:
    """Set scalar `values` in `[table]` ("" = top level); keys not there are added at the table's top."""
    lines = text.splitlines(keepends=True)
    current, start, end = "", None, len(lines)
    if table == "":
        start = 0
    for i, line in enumerate(lines):
        m = _HEADER.match(line)
        if m:
            if start is not None and current == table:
                end = i
                break
            current = m.group(1)
            if current == table:
                start = i + 1
    if start is None:
        raise KeyError(f"no [{table}] table")
    todo = dict(values)
    for i in range(start, end):
        m = re.match(r"^(\s*)([A-Za-z0-9_-]+)(\s*=\s*)([^#\n]*?)(\s*#.*)?(\r?\n)?$", lines[i])
        if m and m.group(2) in todo:
            v = todo.pop(m.group(2))
            lines[i] = f"{m.group(1)}{m.group(2)}{m.group(3)}{_fmt(v)}{m.group(5) or ''}{m.group(6) or ''}"
    if todo:
        new = "".join(f"{k} = {_fmt(v)}\n" for k, v in todo.items())
        lines.insert(start, new)
    return "".join(lines)


def update_pack_file(path: Path, table: str, values: dict):
    """Rewrite only the given keys; the result is re-parsed before it replaces the file."""
    import tomllib

    path = Path(path)
    new = set_keys(path.read_text(encoding="utf-8"), table, values)
    tomllib.loads(new)  # never leave a broken pack behind
    tmp = path.with_suffix(".toml.tmp")
    tmp.write_text(new, encoding="utf-8")
    tmp.replace(path)
