"""The pipeline's per-unit stages as plain functions (the runner submits them to an executor).

filter    one work unit (a file or a part of it), streamed batch by batch:
          read → audit `ingest` → the filter chain (medical, langid, quality, ...) → kept documents only
          → work/filtered/<shard>.parquet + dedup signatures work/minhash/<shard>.parquet
[dedup    all shards  → work/dedup/<shard>.parquet                     mmedc.dedup.stage]
finalize  one shard   → work/tokenized/<shard>.parquet                 audit: dedup, tokenize
[shards   all shards  → shards/*.parquet                               mmedc.shards.writer]

A dropped document's text never reaches the disk: only its audit rows do. Every output is put in
place whole (renamed from a temporary name on local disk, a completed upload on an object store);
the completion marker comes last.
"""
from __future__ import annotations

import hashlib
import os
import stat
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from mmedc.audit import AuditLog, DROPPED, FAILED, KEPT
from mmedc.config import Recipe
from mmedc.core import storage
from mmedc.core.files import ParquetStream, atomic_write_json, atomic_write_parquet
from mmedc.core.layout import marker, read_marker, work  # noqa: F401 - read_marker re-exported for the runner
from mmedc.core.memory import give_back
from mmedc.core.readers import READERS, WorkUnit
from mmedc.core.record import Record, printable
from mmedc.engine import faults
from mmedc.engine.chain import filter_steps, filtered_schema, run_chain

TOKENIZED_SCHEMA = pa.schema([("id", pa.string()), ("lang", pa.string()), ("source", pa.string()),
                              ("input_ids", pa.list_(pa.int32())), ("n_tokens", pa.int32())])
# Reader metadata worth auditing: OCR figures of books, how a page was decoded, cut WARC records.
INGEST_DETAIL = ("pages", "ocr_pages", "mean_ocr_confidence", "page_errors", "title", "encoding", "truncated",
                 "layout", "extractor")


def input_key(unit: WorkUnit) -> dict:
    """What identifies a unit's input (kept in its marker): a replaced or changed file is read again
    (size and modification time; on an object store its ETag too)."""
    return {"source": unit.source_index, "path": unit.path, **storage.file_key(unit.path),
            "part": list(unit.part) if unit.part else None}


def _finish(out: Path, stage: str, shard: str, t0: float, audit: AuditLog | None, steps: list[str],
            docs: int | None = None, **extra) -> dict:
    """Write the completion marker (after every output is in place) with where and how long it ran."""
    from mmedc.executor import current

    info = {"stage": stage, "shard": shard, "seconds": round(time.time() - t0, 3),
            "node": current().node_id(), "docs": docs,
            "counts": {s: audit.counts(s) for s in steps} if audit else {}, **extra}
    faults.maybe_kill(stage, shard)  # reliability tests only (MMEDC_FAULTS); a no-op otherwise
    atomic_write_json(info, marker(out, stage, shard))
    give_back()
    return info


def use_run_env(recipe: Recipe):
    """Point this worker at the packs / OCR settings folders the runner chose (mmedc.engine.runner)."""
    os.environ.update(getattr(recipe, "worker_env", None) or {})


def filter_unit(recipe: Recipe, unit: WorkUnit, out: Path, *_deps) -> dict:
    """Read one work unit and run it through the filter chain in batches of `[pipeline] batch_docs`."""
    from mmedc.dedup.stage import SignatureStream
    from mmedc.sources.registry import declared_lang, read_unit

    use_run_env(recipe)
    t0 = time.time()
    READERS.load(recipe.pipeline.plugins)  # plug-in readers register in this worker too
    src = recipe.sources[unit.source_index]
    steps = filter_steps(recipe)
    names = ["ingest"] + [s.name for s in steps]
    fname = printable(storage.path(unit.path).name, 1000)  # undecodable bytes in a name are surrogates in Python
    lang = declared_lang(src, unit.path)  # the declared language: `lang_by_path`'s first match, else `lang`
    audit = AuditLog(unit.shard, storage.path(out) / "audit")
    kept_docs = ParquetStream(work(out, "filtered", f"{unit.shard}.parquet"), filtered_schema(steps))
    sigs = SignatureStream(recipe, out, unit.shard)
    batch: list[dict] = []
    n = 0

    def flush():
        kept = run_chain(steps, batch, audit)
        kept_docs.write(kept)
        sigs.write(kept)
        batch.clear()

    limits = recipe.limits
    seen = SeenIds()  # ids read so far in this unit: a repeated one fails (the first wins)
    try:
        for rec in _records(read_unit(src, unit, recipe.ocr, limits), unit, limits, src.name):
            n += 1
            # An id that is the record's place in its input (no id field) is unique by construction.
            if (rec.where is None or rec.id != rec.where) and not seen.add(rec.id):
                rec = _duplicate(rec, n)
            detail = {k: v for k, v in rec.meta.items() if k in INGEST_DETAIL and v not in (None, [], {})} if rec.meta else {}
            audit.add("ingest", rec.id, src.name, rec.decision, rec.reason,
                      chars=len(rec.text) if rec.text else None, file=fname, **detail)
            if rec.decision == KEPT:
                batch.append(rec.to_doc(src.name, lang))
                if len(batch) >= recipe.pipeline.batch_docs:
                    flush()
        flush()
        kept_docs.commit()
        sigs.commit()
        audit.write(None, names)
    except BaseException:
        for s in (kept_docs, sigs, audit):
            s.abort()
        raise
    return _finish(out, "filter", unit.shard, t0, audit, names, docs=n, input=input_key(unit))


class SeenIds:
    """The ids read so far in one unit, in ~16 bytes each (a set of strings costs ~110: 300 MB for a
    2.8-million-line gzip, which is one unit): 128-bit digests, a sorted array of their high halves with
    the low halves beside it, plus a set of the recent ones merged into it every `merge_every` ids (a
    merge of two sorted runs: linear)."""

    def __init__(self, merge_every: int = 1 << 16):
        self.hi = np.zeros(0, np.int64)
        self.lo = np.zeros(0, np.int64)
        self.recent: set[bytes] = set()
        self.merge_every = merge_every

    def add(self, doc_id: str) -> bool:
        """True the first time an id is seen."""
        d = hashlib.blake2b(doc_id.encode("utf-8", "surrogatepass"), digest_size=16).digest()
        if d in self.recent:
            return False
        n = len(self.hi)
        if n:
            hi = int.from_bytes(d[:8], "little", signed=True)
            i = int(self.hi.searchsorted(hi))
            while i < n and self.hi[i] == hi:
                if self.lo[i] == int.from_bytes(d[8:], "little", signed=True):
                    return False
                i += 1
        self.recent.add(d)
        if len(self.recent) >= self.merge_every:
            self._merge()
        return True

    def _merge(self):
        new = np.frombuffer(b"".join(self.recent), dtype="<i8").reshape(-1, 2)
        new = new[np.argsort(new[:, 0], kind="stable")]
        hi, lo = np.concatenate([self.hi, new[:, 0]]), np.concatenate([self.lo, new[:, 1]])
        order = np.argsort(hi, kind="stable")  # timsort: two sorted runs merge in linear time
        self.hi, self.lo, self.recent = hi[order], lo[order], set()


def _records(records, unit: WorkUnit, limits, source: str):
    """The reader's records, each checked (Record.checked: storable fields, [limits]); a path that is
    not a regular file (a device such as /dev/zero, a FIFO) is one failed record, never read."""
    try:
        regular = stat.S_ISREG(os.stat(unit.path).st_mode)
    except OSError:
        regular = True  # the reader records why it cannot open it
    if not regular:
        yield Record.failed(printable(f"{source}:{Path(unit.path).name}", 1000), "not_a_regular_file: devices and pipes are not read")
        return
    for rec in records:
        yield rec.checked(limits.max_doc_chars, limits.max_id_chars)


def _duplicate(rec, n: int):
    """A repeated id in one unit: the first record keeps it; this one fails under its place in the input
    (or `<id>#dup<n>`), so every audit row of a unit has its own id and reruns give the same rows."""
    new_id = rec.where if rec.where and rec.where != rec.id else f"{rec.id}#dup{n}"
    return Record.failed(new_id, f"duplicate_id: {printable(rec.id, 200)} was read earlier in this unit")


def unique_ids(shards: list[str], out: Path, *_deps) -> dict:
    """Ids that more than one unit kept (the same id in two files, or in two parts of one): the first unit
    in plan order keeps it, the others' copies fail `duplicate_id` at finalize. Runs after every filter
    task and before dedup, over the kept documents' ids only (work/minhash), in ~12 bytes per document:
    a 64-bit hash and a unit number first, the ids themselves only for units where a hash repeats.

    Writes, for each unit with such copies, work/ids/<shard>.parquet (id, first: the unit that keeps
    it) and work/ids/<shard>.sig.parquet: its signatures without them, which dedup clusters instead, so
    a copy is never the survivor of a cluster nor "a duplicate of itself"."""
    import shutil

    import polars as pl

    t0 = time.time()
    folder = work(out, "ids")
    shutil.rmtree(folder, ignore_errors=True)
    sig = {sh: work(out, "minhash", f"{sh}.parquet") for sh in shards}
    hashes, codes = [], []
    for c, sh in enumerate(shards):
        if sig[sh].exists():
            h = pl.from_arrow(storage.read_parquet(sig[sh], columns=["id"]))["id"].hash(seed=0).to_numpy()
            hashes.append(h)
            codes.append(np.full(len(h), c, np.int32))
    if not hashes:
        return {"stage": "ids", "repeated": 0}
    h, code = np.concatenate(hashes), np.concatenate(codes)
    order = np.argsort(h, kind="stable")
    hs = h[order]
    rep = np.zeros(len(hs), bool)
    rep[1:] = hs[1:] == hs[:-1]
    rep[:-1] |= rep[1:]
    cand = sorted(set(code[order][rep].tolist()))
    del h, code, order
    if not cand:
        return {"stage": "ids", "repeated": 0, "seconds": round(time.time() - t0, 3)}
    want = pl.Series(np.unique(hs[rep]))
    rows = pl.concat([pl.from_arrow(storage.read_parquet(sig[shards[c]], columns=["id"])).with_row_index("row")
                      .filter(pl.col("id").hash(seed=0).is_in(want.implode()))
                      .with_columns(code=pl.lit(c, pl.Int32)) for c in cand])
    rows = (rows.sort("code", "row")
            .with_columns(first=pl.col("code").first().over("id"), k=pl.int_range(pl.len()).over("id"))
            .filter(pl.col("k") > 0))
    for (c,), g in rows.group_by("code"):
        sh = shards[c]
        g = g.sort("row")
        first = pa.array([shards[f] for f in g["first"].to_list()], pa.string())
        atomic_write_parquet(pa.table({"id": g["id"].to_arrow(), "first": first}), work(out, "ids", f"{sh}.parquet"))
        t = storage.read_parquet(sig[sh])
        keep = np.ones(t.num_rows, bool)
        keep[g["row"].to_numpy()] = False
        atomic_write_parquet(t.filter(pa.array(keep)), work(out, "ids", f"{sh}.sig.parquet"))
    return {"stage": "ids", "repeated": rows.height, "seconds": round(time.time() - t0, 3)}


def repeated_in(out: Path, shard: str) -> dict[str, str]:
    """This unit's documents whose id an earlier unit kept: id -> that unit (see unique_ids)."""
    f = work(out, "ids", f"{shard}.parquet")
    return dict(zip(*storage.read_parquet(f).to_pydict().values())) if f.exists() else {}


def finalize_shard(recipe: Recipe, shard: str, out: Path, *_deps) -> dict:
    """Dedup decisions, then tokens, for one shard's kept documents, batch by batch."""
    from mmedc.dedup.stage import duplicates_of
    from mmedc.shards.tokenizer import load_tokenizer
    from mmedc.shards.writer import tokenized_path

    t0 = time.time()
    audit = AuditLog(shard, storage.path(out) / "audit")
    dup = duplicates_of(out, shard)
    repeated = repeated_in(out, shard)
    tok = load_tokenizer(recipe.tokenize.tokenizer, recipe.tokenize.eos_token)
    rows = ParquetStream(tokenized_path(out, shard), TOKENIZED_SCHEMA)
    filtered, fs = storage.arrow(work(out, "filtered", f"{shard}.parquet"))
    src = pq.ParquetFile(filtered, filesystem=fs)
    cols = [c for c in ("id", "source", "text", "lang") if c in src.schema_arrow.names]  # no LID step: no lang
    try:
        for b in src.iter_batches(batch_size=recipe.tokenize.batch_size, columns=cols):
            kept = []
            for d in b.to_pylist():
                d.setdefault("lang", None)
                r = dup.get(d["id"])
                if d["id"] in repeated:  # an earlier unit kept this id (unique_ids): it keeps it
                    audit.add("dedup", d["id"], d["source"], FAILED, f"duplicate_id: kept in unit {repeated[d['id']]}",
                              lang=d["lang"])
                elif r is None:
                    audit.add("dedup", d["id"], d["source"], KEPT, lang=d["lang"], cluster=d["id"])
                    kept.append(d)
                else:
                    audit.add("dedup", d["id"], d["source"], DROPPED, f"duplicate_{r['kind']}: of {r['cluster']}",
                              lang=d["lang"], cluster=r["cluster"], similarity=r["similarity"])
            out_rows = []
            for d, ids in zip(kept, tok.encode([d["text"] for d in kept]) if kept else []):
                audit.add("tokenize", d["id"], d["source"], KEPT, lang=d["lang"], n_tokens=len(ids))
                out_rows.append({"id": d["id"], "lang": d["lang"], "source": d["source"],
                                 "input_ids": ids, "n_tokens": len(ids)})
            rows.write(out_rows)
        rows.commit()
        audit.write(None, ["dedup", "tokenize"])
    except BaseException:
        rows.abort()
        audit.abort()
        raise
    return _finish(out, "finalize", shard, t0, audit, ["dedup", "tokenize"])
