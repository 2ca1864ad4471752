"""manifest.json: the tokenizer, every shard with rows, tokens and sha256 (and every text shard),
totals by language, source and language × source, and the mixture the shard writer applied (factors,
tokens available and written per language and source). README.md, the dataset card, is written from it."""
from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from pathlib import Path

import pyarrow.compute as pc
import pyarrow.parquet as pq

from mmedc.core.files import atomic_write_json


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def build_manifest(out: Path, tokenizer_info: dict, recipe_name: str, fingerprint: str, recipe=None) -> dict:
    """Writes manifest.json and the dataset card README.md (with the recipe's settings when given)."""
    from mmedc.shards.card import write_card

    shards, by_lang, by_source = [], defaultdict(lambda: {"docs": 0, "tokens": 0}), defaultdict(lambda: {"docs": 0, "tokens": 0})
    by_pair: dict = defaultdict(lambda: {"docs": 0, "tokens": 0})
    for path in sorted((out / "shards").glob("*.parquet")):
        t = pq.read_table(path, columns=["lang", "source", "n_tokens"])
        tokens = int(pc.sum(t["n_tokens"]).as_py() or 0)
        shards.append({"file": f"shards/{path.name}", "rows": t.num_rows, "tokens": tokens, "sha256": sha256_file(path)})
        for lang, source, n in zip(t["lang"].to_pylist(), t["source"].to_pylist(), t["n_tokens"].to_pylist()):
            by_lang[lang]["docs"] += 1
            by_lang[lang]["tokens"] += n
            by_source[source]["docs"] += 1
            by_source[source]["tokens"] += n
            by_pair[f"{lang}/{source}"]["docs"] += 1
            by_pair[f"{lang}/{source}"]["tokens"] += n
    text = [{"file": f"text/{p.name}", "rows": pq.read_metadata(p).num_rows, "sha256": sha256_file(p)}
            for p in sorted((out / "text").glob("*.parquet"))]
    manifest = {
        "recipe": recipe_name,
        "fingerprint": fingerprint,
        "tokenizer": tokenizer_info,
        "shards": shards,
        "text": text,
        "mixture": _mixture(out),
        "totals": {"docs": sum(s["rows"] for s in shards), "tokens": sum(s["tokens"] for s in shards),
                   "by_lang": dict(sorted(by_lang.items())), "by_source": dict(sorted(by_source.items())),
                   "by_lang_source": dict(sorted(by_pair.items()))},
    }
    atomic_write_json(manifest, out / "manifest.json")
    write_card(out, manifest, recipe)
    return manifest


def _mixture(out: Path) -> dict | None:
    from mmedc.shards.writer import plan_path

    p = plan_path(out)
    return json.loads(p.read_text()) if p.exists() else None
