"""Dedup as pipeline stages: signatures inside each shard's filter task, clustering as Ray task(s)
over all shards, and per-shard decisions that the finalize task applies.

Files: work/minhash/<shard>.parquet (signatures), work/dedup/<shard>.parquet (this shard's
duplicates: id, cluster, kind, similarity).
"""
from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from mmedc.config import Recipe
from mmedc.engine.files import atomic_write_parquet


def _dir(out: Path, *parts: str) -> Path:
    return out / "work" / Path(*parts)


def write_signatures(recipe: Recipe, docs: list[dict], out: Path, shard: str):
    from mmedc.classify.packs import load_pack
    from mmedc.dedup.minhash import signatures

    cjk = {c for c in recipe.languages if load_pack(c).cjk}
    atomic_write_parquet(signatures(docs, recipe.dedup, cjk), _dir(out, "minhash", f"{shard}.parquet"))


def cluster_all(recipe: Recipe, shards: list[str], out: Path, *_deps) -> int:
    """One task over all shards' signatures (4 bytes x num_perm per document); returns the duplicate count."""
    from mmedc.dedup.minhash import SIG_SCHEMA, find_duplicates

    tables = []
    for s in shards:
        t = pq.read_table(_dir(out, "minhash", f"{s}.parquet"))
        tables.append(t.append_column("shard", pa.array([s] * t.num_rows, pa.string())))
    table = pa.concat_tables(tables) if tables else SIG_SCHEMA.empty_table().append_column("shard", pa.array([], pa.string()))
    dups = find_duplicates(table.drop_columns(["shard"]), recipe.dedup)
    shard_of = dict(zip(table.column("id").to_pylist(), table.column("shard").to_pylist()))
    dup_shard = pa.array([shard_of[i] for i in dups.column("id").to_pylist()], pa.string())
    for s in shards:
        atomic_write_parquet(dups.filter(pc.equal(dup_shard, s)) if dups.num_rows else dups,
                             _dir(out, "dedup", f"{s}.parquet"))
    return dups.num_rows


def submit(recipe: Recipe, shards: list[str], out: Path, deps: list):
    """Submit the clustering to Ray after `deps` (the filter tasks); returns the object ref to wait on."""
    import ray

    task = ray.remote(cluster_all).options(name="dedup", num_cpus=1, max_retries=3)
    return task.remote(recipe, shards, out, *deps) if deps else task.remote(recipe, shards, out)


def duplicates_of(out: Path, shard: str) -> dict[str, dict]:
    return {r["id"]: r for r in pq.read_table(_dir(out, "dedup", f"{shard}.parquet")).to_pylist()}
