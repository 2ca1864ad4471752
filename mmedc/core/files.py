"""Crash-safe writes: every output goes to a temporary name and is renamed into place, so a reader
never sees half a file and a killed task leaves nothing under a final name. Fixed writer settings (no
timestamps, fixed compression) keep reruns byte-identical."""
from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

PARQUET_OPTIONS = dict(compression="zstd", write_statistics=True)


def umask_mode() -> int:
    """The mode a plain open() would give a new file: 0666 less the process umask (read without
    changing it where /proc says it, else by setting and restoring it)."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("Umask:"):
                    return 0o666 & ~int(line.split()[1], 8)
    except OSError:
        pass
    old = os.umask(0o022)
    os.umask(old)
    return 0o666 & ~old


def _tmp(path: Path) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.fchmod(fd, umask_mode())  # mkstemp makes 0600: outputs follow the umask, like any other file
    os.close(fd)
    return tmp


def atomic_write_parquet(table: pa.Table, path: Path):
    tmp = _tmp(Path(path))
    pq.write_table(table, tmp, **PARQUET_OPTIONS)
    os.replace(tmp, path)


def atomic_write_json(obj, path: Path):
    tmp = _tmp(Path(path))
    # backslashreplace: a surrogate (a file name's undecodable byte) is written as its JSON escape "\udcff"
    with open(tmp, "w", encoding="utf-8", errors="backslashreplace") as f:
        json.dump(obj, f, indent=2, ensure_ascii=False, sort_keys=False)
        f.write("\n")
    os.replace(tmp, path)


class ParquetStream:
    """A Parquet file written row group by row group under a temporary name; `commit()` renames it
    into place. Rows are buffered up to `rows_per_group` so that a filter keeping 3% of its input still
    writes row groups of a useful size; memory is bounded by that buffer, never by the file."""

    def __init__(self, path: Path, schema: pa.Schema, rows_per_group: int = 8192):
        self.path, self.schema, self.rows_per_group = Path(path), schema, rows_per_group
        self._tmp = _tmp(self.path)
        self._writer = pq.ParquetWriter(self._tmp, schema, **PARQUET_OPTIONS)
        self._buf: list[dict] = []
        self._tables: list[pa.Table] = []
        self._buffered = 0
        self.rows = 0

    def write(self, rows: list[dict]):
        """Append rows (dicts); written when a row group's worth is buffered."""
        if rows:
            self._buf.extend(rows)
            self._add(len(rows))

    def write_table(self, table: pa.Table):
        """Append an Arrow table of this schema (no conversion through Python objects)."""
        if table.num_rows:
            self._move_rows()
            self._tables.append(table)
            self._add(table.num_rows)

    def _add(self, n: int):
        self.rows += n
        self._buffered += n
        if self._buffered >= self.rows_per_group:
            self._flush()

    def _move_rows(self):
        if self._buf:
            self._tables.append(pa.Table.from_pylist(self._buf, schema=self.schema))
            self._buf = []

    def _flush(self):
        self._move_rows()
        if self._tables:
            self._writer.write_table(pa.concat_tables(self._tables))
            self._tables, self._buffered = [], 0

    def commit(self) -> Path:
        self._flush()
        self._writer.close()  # an empty file still has the schema: it records "no rows"
        os.replace(self._tmp, self.path)
        return self.path

    def abort(self):
        try:
            self._writer.close()
        finally:
            Path(self._tmp).unlink(missing_ok=True)
