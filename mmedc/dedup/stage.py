"""Dedup as pipeline stages: signatures inside each shard's filter task, the distributed clustering
(mmedc.dedup.cluster) after all of them, and per-shard decisions that the finalize task applies.

Files: work/minhash/<shard>.parquet (signatures + shingles), work/dedup/<shard>.parquet (this
shard's duplicates: id, cluster, kind, similarity), work/dedup/stages/ (the shuffle files), and the
index of kept documents: [dedup] index, or work/dedup/index when unset.
"""
from __future__ import annotations

import hashlib
from pathlib import Path

from mmedc.config import Recipe
from mmedc.core import storage
from mmedc.core.files import ParquetStream
from mmedc.core.layout import work as _dir


def index_dir(recipe: Recipe, out: Path) -> Path:
    """[dedup] index (a local folder, relative to the recipe, or a URI), else OUT/work/dedup/index."""
    idx = recipe.dedup.index
    if not idx:
        return _dir(out, "dedup", "index")
    return storage.path(idx, recipe.base_dir)


class SignatureStream:
    """MinHash signatures of a shard's kept documents, computed and written batch by batch."""

    def __init__(self, recipe: Recipe, out: Path, shard: str):
        from mmedc.classify.packs import load_pack
        from mmedc.dedup.minhash import SIG_SCHEMA

        self.cfg = recipe.dedup
        self.cjk = {c for c in recipe.languages if load_pack(c).cjk}
        self.stream = ParquetStream(_dir(out, "minhash", f"{shard}.parquet"), SIG_SCHEMA, rows_per_group=4096)

    def write(self, docs: list[dict]):
        from mmedc.dedup.minhash import signature_table

        if docs:
            self.stream.write_table(signature_table(docs, self.cfg, self.cjk))

    def commit(self):
        self.stream.commit()

    def abort(self):
        self.stream.abort()


def _sig(out: Path, shard: str) -> Path:
    """The shard's signatures; without the copies of ids an earlier unit kept when it has any
    (work/ids, written by mmedc.engine.stages.unique_ids before dedup runs)."""
    unique = _dir(out, "ids", f"{shard}.sig.parquet")
    return unique if unique.exists() else _dir(out, "minhash", f"{shard}.parquet")


def plan_for(recipe: Recipe, shards: list[str], out: Path):
    from mmedc.dedup.index import make_plan

    out = storage.path(out)
    n_docs = sum(storage.read_parquet_metadata(_dir(out, "minhash", f"{s}.parquet")).num_rows
                 for s in shards if _dir(out, "minhash", f"{s}.parquet").exists())
    # One batch per output folder and recipe: a rerun replaces it instead of matching itself. The id is
    # kept in the folder, so a run folder that is copied or moved and then resumed keeps its batch.
    batch_file = _dir(out, "dedup", "batch.txt")
    if batch_file.exists():
        batch = batch_file.read_text().strip()
    else:
        batch = "run-" + hashlib.sha1(f"{storage.resolve(out)}|{recipe.fingerprint()}".encode()).hexdigest()[:12]
        storage.write_bytes(batch_file, (batch + "\n").encode())
    new = [(s, str(_sig(out, s)), str(_dir(out, "dedup", f"{s}.parquet"))) for s in shards]
    return make_plan(recipe.dedup, _dir(out, "dedup", "stages"), new, n_docs, index_dir(recipe, out), batch)


def _run(recipe: Recipe, shards: list[str], out: Path, *_deps) -> dict:
    from mmedc.dedup.cluster import run_plan

    return run_plan(plan_for(recipe, shards, out))


def submit(recipe: Recipe, shards: list[str], out: Path, deps: list):
    """Plans after the filter tasks (it needs their signature files) and runs the stages as tasks;
    returns one handle that completes when work/dedup/<shard>.parquet exists for every shard."""
    from mmedc.executor import current

    return current().submit(_run, recipe, shards, out, name="dedup", num_cpus=0, retries=1, deps=deps)


def duplicates_of(out: Path, shard: str) -> dict[str, dict]:
    return {r["id"]: r for r in storage.read_parquet(_dir(out, "dedup", f"{shard}.parquet")).to_pylist()}
