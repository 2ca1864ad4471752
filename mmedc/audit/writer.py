"""Collects audit rows for one shard and writes them as `audit/<step>/<shard>.parquet`."""
from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path

import pyarrow as pa

from mmedc.audit.schema import AUDIT_SCHEMA, DECISIONS, SCORE_COLUMNS
from mmedc.engine.files import atomic_write_parquet


class AuditLog:
    def __init__(self, shard: str):
        self.shard = shard
        self.rows: dict[str, list[dict]] = defaultdict(list)

    def add(self, step: str, doc_id: str, source: str, decision: str, reason: str | None = None, **scores):
        if decision not in DECISIONS:
            raise ValueError(f"decision must be one of {DECISIONS}, got {decision!r}")
        row = {"shard": self.shard, "id": doc_id, "source": source, "step": step,
               "decision": decision, "reason": reason}
        extra = {}
        for k, v in scores.items():
            if k in SCORE_COLUMNS:
                row[k] = v
            elif v is not None:
                extra[k] = v
        row["detail"] = json.dumps(extra, ensure_ascii=False, sort_keys=True, default=str) if extra else None
        self.rows[step].append(row)

    def counts(self, step: str) -> dict[str, int]:
        out = {d: 0 for d in DECISIONS}
        for r in self.rows.get(step, []):
            out[r["decision"]] += 1
        return out

    def write(self, audit_dir: Path, steps: list[str]):
        """Write one file per step, also for steps that saw no document (an empty file records that)."""
        for step in steps:
            table = pa.Table.from_pylist(self.rows.get(step, []), schema=AUDIT_SCHEMA)
            atomic_write_parquet(table, audit_dir / step / f"{self.shard}.parquet")
