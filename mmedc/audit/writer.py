"""Audit rows of one shard, streamed to `audit/<step>/<shard>.parquet` as they come (memory bounded by
a row group, not by the shard); `write()` puts every step's file in place, also for steps that saw no
document (an empty file records that)."""
from __future__ import annotations

import json
from pathlib import Path

from mmedc.audit.schema import AUDIT_SCHEMA, DECISIONS, SCORE_COLUMNS
from mmedc.core.files import ParquetStream
from mmedc.core.storage import path as storage_path

_SCORES = frozenset(SCORE_COLUMNS)


class AuditLog:
    def __init__(self, shard: str, audit_dir: Path | None = None, rows_per_group: int = 16384):
        """Rows are kept in memory until `write(audit_dir, steps)`, or streamed to `audit_dir` when given."""
        self.shard = shard
        self.audit_dir = storage_path(audit_dir) if audit_dir else None
        self.rows_per_group = rows_per_group
        self.rows: dict[str, list[dict]] = {}
        self._streams: dict[str, ParquetStream] = {}
        self._counts: dict[str, dict[str, int]] = {}

    def add(self, step: str, doc_id: str, source: str, decision: str, reason: str | None = None, **scores):
        if decision not in DECISIONS:
            raise ValueError(f"decision must be one of {DECISIONS}, got {decision!r}")
        row = {"shard": self.shard, "id": doc_id, "source": source, "step": step,
               "decision": decision, "reason": reason}
        extra = {}
        for k, v in scores.items():
            if k in _SCORES:
                row[k] = v
            elif v is not None:
                extra[k] = v
        row["detail"] = json.dumps(extra, ensure_ascii=False, sort_keys=True, default=str) if extra else None
        c = self._counts.get(step)
        if c is None:
            c = self._counts[step] = {d: 0 for d in DECISIONS}
            self.rows[step] = []
        c[decision] += 1
        rows = self.rows[step]
        rows.append(row)
        if self.audit_dir is not None and len(rows) >= self.rows_per_group:
            self._stream(step).write(rows)
            self.rows[step] = []

    def _stream(self, step: str) -> ParquetStream:
        if step not in self._streams:
            self._streams[step] = ParquetStream(self.audit_dir / step / f"{self.shard}.parquet", AUDIT_SCHEMA,
                                                self.rows_per_group)
        return self._streams[step]

    def counts(self, step: str) -> dict[str, int]:
        return dict(self._counts.get(step) or {d: 0 for d in DECISIONS})

    def steps(self) -> list[str]:
        """Steps that recorded rows, in the order they first did."""
        return list(self._counts)

    def write(self, audit_dir: Path | None, steps: list[str]):
        """Put one file per step in place (an empty one for a step without rows)."""
        audit_dir = storage_path(audit_dir) if audit_dir else self.audit_dir
        if self.audit_dir is not None and audit_dir != self.audit_dir:
            raise ValueError("a streaming AuditLog writes to the folder it was made with")
        self.audit_dir = audit_dir
        for step in steps:
            s = self._stream(step)
            s.write(self.rows.get(step, []))
            self.rows[step] = []
            s.commit()
        self._streams.clear()

    def abort(self):
        for s in self._streams.values():
            s.abort()
        self._streams.clear()
