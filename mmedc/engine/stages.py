"""The pipeline's per-shard stages as plain functions (the runner wraps them in Ray tasks).

ingest    one input file → work/ingest/<shard>.parquet       audit: ingest
filter    one shard      → work/filtered/<shard>.parquet      audit: the filter chain (langid, medical, ...)
                         + dedup signatures (mmedc.dedup.stage)
[dedup    all shards     → work/dedup/<shard>.parquet          mmedc.dedup.stage]
finalize  one shard      → work/tokenized/<shard>.parquet     audit: dedup, tokenize
[shards   all shards     → shards/*.parquet                    mmedc.shards.writer]
"""
from __future__ import annotations

import json
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from mmedc.audit import AuditLog, DROPPED, KEPT
from mmedc.config import Recipe
from mmedc.engine import faults
from mmedc.engine.files import atomic_write_json, atomic_write_parquet
from mmedc.engine.step import run_chain

DOC_FIELDS = [("id", pa.string()), ("source", pa.string()), ("text", pa.string()), ("url", pa.string()),
              ("lang_hint", pa.string()), ("meta", pa.string())]
DOC_SCHEMA = pa.schema(DOC_FIELDS)
FILTERED_SCHEMA = pa.schema(DOC_FIELDS + [
    ("lang", pa.string()), ("lang_score", pa.float32()), ("medical", pa.bool_()), ("medical_score", pa.float32()),
    ("medical_hits", pa.int32()), ("medical_density", pa.float32())])
TOKENIZED_SCHEMA = pa.schema([("id", pa.string()), ("lang", pa.string()), ("source", pa.string()),
                              ("input_ids", pa.list_(pa.int32())), ("n_tokens", pa.int32())])
# Reader metadata worth auditing: OCR figures of books, how a page was decoded, cut WARC records.
INGEST_DETAIL = ("pages", "ocr_pages", "mean_ocr_confidence", "page_errors", "title", "encoding", "truncated")


def work(out: Path, *parts: str) -> Path:
    return out / "work" / Path(*parts)


def marker(out: Path, stage: str, shard: str) -> Path:
    return work(out, "done", stage, f"{shard}.json")


def read_marker(out: Path, stage: str, shard: str) -> dict | None:
    p = marker(out, stage, shard)
    return json.loads(p.read_text()) if p.exists() else None


def _finish(out: Path, stage: str, shard: str, t0: float, audit: AuditLog | None, steps: list[str]) -> dict:
    """Write the completion marker (after every output is in place) with where and how long it ran."""
    import ray

    ctx = ray.get_runtime_context() if ray.is_initialized() else None
    info = {"stage": stage, "shard": shard, "seconds": round(time.time() - t0, 3),
            "node": ctx.get_node_id() if ctx else None,
            "counts": {s: audit.counts(s) for s in steps} if audit else {}}
    faults.maybe_kill(stage, shard)  # reliability tests only (MMEDC_FAULTS); a no-op otherwise
    atomic_write_json(info, marker(out, stage, shard))
    return info


def ingest(recipe: Recipe, source_index: int, path: str, shard: str, out: Path) -> dict:
    from mmedc.sources import read_file

    t0 = time.time()
    src = recipe.sources[source_index]
    audit = AuditLog(shard)
    docs = []
    fname = Path(path).name
    for rec in read_file(src, Path(path), recipe.ocr):
        detail = {k: v for k, v in rec.meta.items() if k in INGEST_DETAIL and v not in (None, [], {})}
        audit.add("ingest", rec.id, src.name, rec.decision, rec.reason,
                  chars=len(rec.text) if rec.text else None, file=fname, **detail)
        if rec.decision == KEPT:
            docs.append(rec.to_doc(src.name, src.lang))
    atomic_write_parquet(pa.Table.from_pylist(docs, schema=DOC_SCHEMA), work(out, "ingest", f"{shard}.parquet"))
    audit.write(out / "audit", ["ingest"])
    return _finish(out, "ingest", shard, t0, audit, ["ingest"])


def filter_shard(recipe: Recipe, shard: str, out: Path, *_deps) -> dict:
    from mmedc.dedup.stage import write_signatures
    from mmedc.engine.chain import filter_steps

    t0 = time.time()
    audit = AuditLog(shard)
    steps = filter_steps(recipe)
    docs = pq.read_table(work(out, "ingest", f"{shard}.parquet")).to_pylist()
    kept = run_chain(steps, docs, audit)
    atomic_write_parquet(pa.Table.from_pylist(kept, schema=FILTERED_SCHEMA), work(out, "filtered", f"{shard}.parquet"))
    write_signatures(recipe, kept, out, shard)
    names = [s.name for s in steps]
    audit.write(out / "audit", names)
    return _finish(out, "filter", shard, t0, audit, names)


def finalize_shard(recipe: Recipe, shard: str, out: Path, *_deps) -> dict:
    from mmedc.dedup.stage import duplicates_of
    from mmedc.shards.tokenizer import load_tokenizer
    from mmedc.shards.writer import tokenized_path

    t0 = time.time()
    audit = AuditLog(shard)
    docs = pq.read_table(work(out, "filtered", f"{shard}.parquet")).to_pylist()
    dup = duplicates_of(out, shard)
    kept = []
    for d in docs:
        r = dup.get(d["id"])
        if r is None:
            audit.add("dedup", d["id"], d["source"], KEPT, lang=d["lang"], cluster=d["id"])
            kept.append(d)
        else:
            audit.add("dedup", d["id"], d["source"], DROPPED, f"duplicate_{r['kind']}: of {r['cluster']}",
                      lang=d["lang"], cluster=r["cluster"], similarity=r["similarity"])
    tok = load_tokenizer(recipe.tokenize.tokenizer, recipe.tokenize.eos_token)
    rows = {"id": [], "lang": [], "source": [], "input_ids": [], "n_tokens": []}
    bs = recipe.tokenize.batch_size
    for i in range(0, len(kept), bs):
        batch = kept[i:i + bs]
        for d, ids in zip(batch, tok.encode([d["text"] for d in batch])):
            audit.add("tokenize", d["id"], d["source"], KEPT, lang=d["lang"], n_tokens=len(ids))
            for k, v in (("id", d["id"]), ("lang", d["lang"]), ("source", d["source"]),
                         ("input_ids", ids), ("n_tokens", len(ids))):
                rows[k].append(v)
    atomic_write_parquet(pa.Table.from_pydict(rows, schema=TOKENIZED_SCHEMA), tokenized_path(out, shard))
    audit.write(out / "audit", ["dedup", "tokenize"])
    return _finish(out, "finalize", shard, t0, audit, ["dedup", "tokenize"])
