"""manifest.json: the tokenizer, every shard with rows, tokens and sha256, totals by language and source,
and the mixture the shard writer applied (factors, tokens available and written per language and source)."""
from __future__ import annotations

import hashlib
from collections import defaultdict
from pathlib import Path

import pyarrow.compute as pc

from mmedc.core import storage
from mmedc.core.files import atomic_write_json


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with storage.open_input(path) as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def build_manifest(out: Path, tokenizer_info: dict, recipe_name: str, fingerprint: str) -> dict:
    shards, by_lang, by_source = [], defaultdict(lambda: {"docs": 0, "tokens": 0}), defaultdict(lambda: {"docs": 0, "tokens": 0})
    out = storage.path(out)
    for path in sorted((out / "shards").glob("*.parquet"), key=str):
        t = storage.read_parquet(path, columns=["lang", "source", "n_tokens"])
        tokens = int(pc.sum(t["n_tokens"]).as_py() or 0)
        shards.append({"file": f"shards/{path.name}", "rows": t.num_rows, "tokens": tokens, "sha256": sha256_file(path)})
        for lang, source, n in zip(t["lang"].to_pylist(), t["source"].to_pylist(), t["n_tokens"].to_pylist()):
            by_lang[lang]["docs"] += 1
            by_lang[lang]["tokens"] += n
            by_source[source]["docs"] += 1
            by_source[source]["tokens"] += n
    manifest = {
        "recipe": recipe_name,
        "fingerprint": fingerprint,
        "tokenizer": tokenizer_info,
        "shards": shards,
        "mixture": _mixture(out),
        "totals": {"docs": sum(s["rows"] for s in shards), "tokens": sum(s["tokens"] for s in shards),
                   "by_lang": dict(sorted(by_lang.items())), "by_source": dict(sorted(by_source.items()))},
    }
    atomic_write_json(manifest, out / "manifest.json")
    return manifest


def _mixture(out: Path) -> dict | None:
    from mmedc.shards.writer import plan_path

    from mmedc.core.layout import read_json

    return read_json(plan_path(out))
