"""Output shards: the tokenized documents of every input shard, written as `shards/*.parquet`.

Foundation rule: one output shard per input shard, documents in input order (deterministic).
"""
from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from mmedc.config import Recipe
from mmedc.engine.files import atomic_write_parquet

SHARD_SCHEMA = pa.schema([("id", pa.string()), ("lang", pa.string()), ("source", pa.string()),
                          ("input_ids", pa.list_(pa.int32())), ("n_tokens", pa.int32())])


def tokenized_path(out: Path, shard: str) -> Path:
    return out / "work" / "tokenized" / f"{shard}.parquet"


def write_output_shards(recipe: Recipe, shards: list[str], out: Path, *_deps) -> list[str]:
    dest = out / "shards"
    written = []
    for shard in shards:
        table = pq.read_table(tokenized_path(out, shard)).select(SHARD_SCHEMA.names).cast(SHARD_SCHEMA)
        atomic_write_parquet(table, dest / f"{shard}.parquet")
        written.append(f"{shard}.parquet")
    for stale in dest.glob("*.parquet"):
        if stale.name not in written:
            stale.unlink()
    return written


def submit(recipe: Recipe, shards: list[str], out: Path, deps: list):
    import ray

    task = ray.remote(write_output_shards).options(name="shards", num_cpus=1, max_retries=3)
    return task.remote(recipe, shards, out, *deps)
