"""The dedup index: signatures, shingles and band keys of the documents kept by earlier runs.

  DIR/index.json                 settings (must match), partitions, batches → shard names
  DIR/<batch>/<shard>.sig.parquet    id, chars, exact, sig, shingles of the kept documents
  DIR/<batch>/<shard>.bands.parquet  their band keys, already partitioned

A run dedups its documents against every batch but its own (a rerun replaces its batch), then adds
its kept documents as a new batch. index.json is replaced atomically; one writer at a time.
"""
from __future__ import annotations

import json
from pathlib import Path

from mmedc.config import DedupConfig
from mmedc.dedup.cluster import Plan, Shard
from mmedc.dedup.minhash import auto_partitions, bands_rows
from mmedc.core import storage
from mmedc.core.files import atomic_write_json

# Settings that change shingles, signatures or band keys: an index is only usable with the same ones.
KEYED = ("num_perm", "seed", "ngram", "cjk_ngram")


class DedupIndexError(ValueError):
    pass


def _settings(cfg: DedupConfig, bands: int, rows: int) -> dict:
    return {**{k: getattr(cfg, k) for k in KEYED}, "bands": bands, "rows": rows}


def read_index(path: Path) -> dict | None:
    try:  # a local folder or a URI (mmedc.core.storage)
        return json.loads((storage.path(path) / "index.json").read_text())
    except FileNotFoundError:
        return None


def make_plan(cfg: DedupConfig, work: Path, new: list[tuple[str, str, str]], n_docs: int,
              index_dir: Path | None = None, batch: str = "") -> Plan:
    """new: (shard name, signature file, decisions file) per shard of this run."""
    bands, rows = bands_rows(cfg)
    parts = cfg.partitions or auto_partitions(n_docs, bands)
    shards: list[Shard] = []
    if index_dir:
        idx = read_index(index_dir)
        if idx:
            want = _settings(cfg, bands, rows)
            if idx["settings"] != want:
                raise DedupIndexError(f"index {index_dir} was built with {idx['settings']}, this run uses {want}: "
                                  "use the same [dedup] settings or a new index")
            parts = idx["partitions"]
            for b in sorted(idx["batches"]):
                if b == batch:
                    continue
                for name in idx["batches"][b]:
                    base = storage.path(index_dir) / b / name
                    shards.append(Shard(f"{b}/{name}", f"{base}.sig.parquet", f"{base}.bands.parquet", True))
        storage.rmtree(storage.path(index_dir) / batch)  # a rerun replaces its own batch
    for name, sig, decisions in new:
        shards.append(Shard(name, sig, str(storage.path(work) / "bands" / f"{name}.parquet"), False, decisions))
    return Plan(cfg=cfg, bands=bands, rows=rows, parts=parts, work=str(work), shards=shards,
                index_dir=str(index_dir) if index_dir else "", batch=batch)


def add_batch(plan: Plan, names: list[str]):
    idx = read_index(plan.index_dir) or {
        "settings": _settings(plan.cfg, plan.bands, plan.rows), "partitions": plan.parts, "batches": {}}
    idx["batches"][plan.batch] = names
    atomic_write_json(idx, storage.path(plan.index_dir) / "index.json")

