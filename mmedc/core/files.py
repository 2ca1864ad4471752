"""Crash-safe writes: a reader never sees half a file and a killed task leaves nothing partial under
a final name. On local disk every output goes to a temporary name and is renamed into place; on an
object store (no rename) it is uploaded under its final name, which appears only when the upload
completes (mmedc.core.storage.Output). Either way a task writes its outputs first and its completion
marker last. Fixed writer settings (no timestamps, fixed compression) keep reruns byte-identical."""
from __future__ import annotations

import json

import pyarrow as pa
import pyarrow.parquet as pq

from mmedc.core.storage import Output, write_bytes

PARQUET_OPTIONS = dict(compression="zstd", write_statistics=True)


def atomic_write_parquet(table: pa.Table, path, row_group_size: int | None = None):
    out = Output(path)
    try:
        pq.write_table(table, out.file, row_group_size=row_group_size, **PARQUET_OPTIONS)
    except BaseException:
        out.discard()
        raise
    out.commit()


def atomic_write_json(obj, path):
    data = json.dumps(obj, indent=2, ensure_ascii=False, sort_keys=False) + "\n"
    # backslashreplace: a surrogate (a file name's undecodable byte) is written as its JSON escape "\udcff"
    write_bytes(path, data.encode("utf-8", "backslashreplace"))


class ParquetStream:
    """A Parquet file written row group by row group (mmedc.core.storage.Output: a temporary name
    on local disk, the final name on an object store); `commit()` puts it in place. Rows are buffered
    up to `rows_per_group` so that a filter keeping 3% of its input still writes row groups of a
    useful size; memory is bounded by that buffer, never by the file."""

    def __init__(self, path, schema: pa.Schema, rows_per_group: int = 8192):
        self.schema, self.rows_per_group = schema, rows_per_group
        self._out = Output(path)
        self.path = self._out.path
        self._writer = pq.ParquetWriter(self._out.file, schema, **PARQUET_OPTIONS)
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

    def commit(self):
        self._flush()
        self._writer.close()  # an empty file still has the schema: it records "no rows"
        return self._out.commit()

    def abort(self):
        try:
            self._writer.close()  # the writer closes its own state; the file is then dropped, not committed
        except Exception:  # noqa: BLE001 - aborting after an error: the file goes anyway
            pass
        self._out.discard()
