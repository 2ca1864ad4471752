"""Dedup as pipeline stages: signatures inside each shard's filter task, the distributed clustering
(mmedc.dedup.cluster) after all of them, and per-shard decisions that the finalize task applies.

Files: work/minhash/<shard>.parquet (signatures + shingles), work/dedup/<shard>.parquet (this
shard's duplicates: id, cluster, kind, similarity), work/dedup/stages/ (the shuffle files), and the
index of kept documents: [dedup] index, or work/dedup/index when unset.
"""
from __future__ import annotations

import hashlib
from pathlib import Path

import pyarrow.parquet as pq

from mmedc.config import Recipe
from mmedc.engine.files import atomic_write_parquet


def _dir(out: Path, *parts: str) -> Path:
    return Path(out) / "work" / Path(*parts)


def index_dir(recipe: Recipe, out: Path) -> Path:
    idx = recipe.dedup.index
    if not idx:
        return _dir(out, "dedup", "index")
    return Path(idx) if Path(idx).is_absolute() else recipe.base_dir / idx


def write_signatures(recipe: Recipe, docs: list[dict], out: Path, shard: str):
    from mmedc.classify.packs import load_pack
    from mmedc.dedup.minhash import signature_table

    cjk = {c for c in recipe.languages if load_pack(c).cjk}
    atomic_write_parquet(signature_table(docs, recipe.dedup, cjk), _dir(out, "minhash", f"{shard}.parquet"))


def plan_for(recipe: Recipe, shards: list[str], out: Path):
    from mmedc.dedup.index import make_plan

    out = Path(out)
    n_docs = sum(pq.read_metadata(_dir(out, "minhash", f"{s}.parquet")).num_rows
                 for s in shards if _dir(out, "minhash", f"{s}.parquet").exists())
    # One batch per output folder and recipe: a rerun replaces it instead of matching itself. The id is
    # kept in the folder, so a run folder that is copied or moved and then resumed keeps its batch.
    batch_file = _dir(out, "dedup", "batch.txt")
    if batch_file.exists():
        batch = batch_file.read_text().strip()
    else:
        batch = "run-" + hashlib.sha1(f"{out.resolve()}|{recipe.fingerprint()}".encode()).hexdigest()[:12]
        batch_file.parent.mkdir(parents=True, exist_ok=True)
        batch_file.write_text(batch + "\n")
    new = [(s, str(_dir(out, "minhash", f"{s}.parquet")), str(_dir(out, "dedup", f"{s}.parquet"))) for s in shards]
    return make_plan(recipe.dedup, _dir(out, "dedup", "stages"), new, n_docs, index_dir(recipe, out), batch)


def _run(recipe: Recipe, shards: list[str], out: Path, *_deps) -> dict:
    from mmedc.dedup.cluster import run_plan

    return run_plan(plan_for(recipe, shards, out))


def submit(recipe: Recipe, shards: list[str], out: Path, deps: list):
    """Plans after the filter tasks (it needs their signature files) and runs the stages as Ray tasks;
    returns one ref that completes when work/dedup/<shard>.parquet exists for every shard."""
    import ray

    task = ray.remote(_run).options(name="dedup", num_cpus=0, max_retries=1)
    return task.remote(recipe, shards, out, *deps)


def duplicates_of(out: Path, shard: str) -> dict[str, dict]:
    return {r["id"]: r for r in pq.read_table(_dir(out, "dedup", f"{shard}.parquet")).to_pylist()}
