"""manifest.json: the tokenizer, every shard with rows, tokens and sha256 (and every text shard),
totals by language, source and language × source, and the mixture the shard writer applied (factors,
tokens available and written per language and source). README.md, the dataset card, is written from it."""
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


def shard_entry(name: str, t, sha256: str) -> dict:
    """What the manifest says of one output shard (`t`: its lang, source, n_tokens columns), with its
    documents and tokens per (lang, source) for the totals."""
    groups: dict[tuple, list[int]] = defaultdict(lambda: [0, 0])
    for lang, source, n in zip(t["lang"].to_pylist(), t["source"].to_pylist(), t["n_tokens"].to_pylist()):
        g = groups[(lang, source)]
        g[0] += 1
        g[1] += n
    return {"file": f"shards/{name}", "rows": t.num_rows, "tokens": int(pc.sum(t["n_tokens"]).as_py() or 0),
            "sha256": sha256, "groups": [[lang, source, d, n] for (lang, source), (d, n) in groups.items()]}


def _entries(out) -> list[dict]:
    """Per output shard, from the shard writer's tasks (work/shards/files.json: they hashed the bytes
    they wrote, so the driver reads no shard), else read and hashed here."""
    from mmedc.core.layout import read_json

    present = sorted((out / "shards").glob("*.parquet"), key=str)
    written = read_json(out / "work" / "shards" / "files.json")
    if written is not None and [e["file"] for e in written] == [f"shards/{p.name}" for p in present]:
        return written
    return [shard_entry(p.name, storage.read_parquet(p, columns=["lang", "source", "n_tokens"]), sha256_file(p))
            for p in present]


def build_manifest(out: Path, tokenizer_info: dict, recipe_name: str, fingerprint: str, recipe=None) -> dict:
    """Writes manifest.json and the dataset card README.md (with the recipe's settings when given)."""
    from mmedc.shards.card import write_card

    shards, by_lang, by_source = [], defaultdict(lambda: {"docs": 0, "tokens": 0}), defaultdict(lambda: {"docs": 0, "tokens": 0})
    by_pair: dict = defaultdict(lambda: {"docs": 0, "tokens": 0})
    out = storage.path(out)
    for e in _entries(out):
        shards.append({k: e[k] for k in ("file", "rows", "tokens", "sha256")})
        for lang, source, docs, tokens in e["groups"]:
            for d in (by_lang[lang], by_source[source], by_pair[f"{lang}/{source}"]):
                d["docs"] += docs
                d["tokens"] += tokens
    text = [{"file": f"text/{p.name}", "rows": storage.read_parquet_metadata(p).num_rows, "sha256": sha256_file(p)}
            for p in sorted((out / "text").glob("*.parquet"), key=str)]
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

    from mmedc.core.layout import read_json

    return read_json(plan_path(out))
