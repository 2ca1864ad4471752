"""Output shards: the tokenized documents of every input shard, mixed, shuffled and cut into
`shards/shard-XXXXX-of-NNNNN.parquet` of about `[shards] target_tokens` tokens each.

A small map/reduce on Ray, so no task holds more than one input shard or one output shard:
  plan     read only (lang, source, n_tokens) of every input shard; the mixture decides how many
           copies of each document go out (up-/down-sampling), a seeded permutation orders all
           copies, cumulative tokens cut the order into output shards   → work/shards/plan.json
  scatter  one task per input shard: its rows, sent to the output shards they belong to
           → work/shuffle/<out>/<in>.parquet
  gather   one task per output shard: its parts, sorted into the planned order → shards/*.parquet
Everything is a function of the inputs and the seed, so a re-run writes byte-identical shards.

With `[shards] text = true` (the default) the same tasks write the kept documents' text beside the
tokens: `text/<same name>.parquet`, row for row in the same order as its token shard (id, lang,
source, url, licence, text, the steps' scores, n_tokens, copy), read from work/filtered (the tokenized
rows are the filtered rows minus dedup drops, in the same order). `licence` is the document's
`meta.licence` (a crawl's or a PDF's licence hint, mmedc.extract.licence; null when unknown), so a team
can filter by licence without work/.
"""
from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from mmedc.config import Recipe, ShardsConfig
from mmedc.core import storage
from mmedc.core.files import PARQUET_OPTIONS, atomic_write_json, atomic_write_parquet
from mmedc.core.memory import give_back

# `copy` numbers the repeats of an up-sampled document (0 = the first or only one).
SHARD_SCHEMA = pa.schema([("id", pa.string()), ("lang", pa.string()), ("source", pa.string()),
                          ("input_ids", pa.list_(pa.int32())), ("n_tokens", pa.int32()), ("copy", pa.int32())])


# Columns of work/filtered that are not for readers of the text dataset.
TEXT_SKIP = ("lang_hint", "meta")
TEXT_FIRST = ("id", "lang", "source", "url", "licence", "text")


def tokenized_path(out: Path, shard: str) -> Path:
    return storage.path(out) / "work" / "tokenized" / f"{shard}.parquet"


def filtered_path(out: Path, shard: str) -> Path:
    return storage.path(out) / "work" / "filtered" / f"{shard}.parquet"


def licences(meta) -> pa.Array:
    """`licence` of each row's metadata JSON, null when it has none. Only the rows whose JSON contains
    the key are parsed (found by Arrow's substring kernel): most documents carry no hint."""
    import json

    meta = meta.combine_chunks() if isinstance(meta, pa.ChunkedArray) else meta
    has = pc.fill_null(pc.match_substring(meta, '"licence"'), False)
    out: list = [None] * len(meta)
    for i, m in zip(pc.indices_nonzero(has).to_pylist(), meta.filter(has).to_pylist()):
        try:
            v = json.loads(m).get("licence")
        except (ValueError, AttributeError):  # not a JSON object: no hint to give
            continue
        out[i] = v if v is None or isinstance(v, str) else json.dumps(v, ensure_ascii=False, default=str)
    return pa.array(out, pa.string())


def text_rows(out: Path, shard: str, tokens: pa.Table) -> pa.Table:
    """The text and scores of the tokenized rows of one input shard, row for row. Tokenized rows are
    the filtered rows minus dedup drops, in order: one forward walk aligns them (ids may repeat)."""
    f = storage.read_parquet(filtered_path(out, shard))
    fids, idx, j = f["id"].to_pylist(), [], 0
    for i in tokens["id"].to_pylist():
        while j < len(fids) and fids[j] != i:
            j += 1
        if j == len(fids):
            raise RuntimeError(f"{shard}: tokenized id {i!r} not found in order in {filtered_path(out, shard)}")
        idx.append(j)
        j += 1
    f = f.take(pa.array(idx, pa.int64()))
    rest = [c for c in f.column_names if c not in TEXT_SKIP and c not in TEXT_FIRST]
    cols = {"id": tokens["id"], "lang": tokens["lang"], "source": tokens["source"],
            "url": f["url"] if "url" in f.column_names else pa.nulls(len(f), pa.string()),
            "licence": licences(f["meta"]) if "meta" in f.column_names else pa.nulls(len(f), pa.string()),
            "text": f["text"]}
    cols.update({c: f[c] for c in rest})
    cols["n_tokens"] = tokens["n_tokens"]
    return pa.table(cols)


def plan_path(out: Path) -> Path:
    return storage.path(out) / "work" / "shards" / "plan.json"


def shard_name(j: int, n: int) -> str:
    return f"shard-{j:05d}-of-{n:05d}.parquet"


def _factors(cfg: ShardsConfig, key: str, tokens: dict[str, int]) -> dict[str, float]:
    """Sampling factor per language or source: target tokens / available when a target is set, else the weight."""
    weights, targets = getattr(cfg, f"{key}_weights"), getattr(cfg, f"{key}_tokens")
    out = {}
    for name, avail in tokens.items():
        if name in targets:
            out[name] = targets[name] / avail if avail else 0.0
        else:
            out[name] = float(weights.get(name, 1.0))
    return out


def plan_mixture(cfg: ShardsConfig, lang: np.ndarray, source: np.ndarray, n_tokens: np.ndarray):
    """Copies per document, the order of all copies and each copy's output shard, plus the mixture record.

    Returns (doc index per copy, copy number, output shard per copy, number of shards, record).
    """
    rng = np.random.default_rng(cfg.seed)
    rec: dict = {"seed": cfg.seed, "shuffle": cfg.shuffle, "target_tokens": cfg.target_tokens}
    factor = np.ones(len(lang))
    for key, col in (("lang", lang), ("source", source)):
        names = sorted(set(col.tolist()))
        avail = {k: int(n_tokens[col == k].sum()) for k in names}
        f = _factors(cfg, key, avail)
        factor *= np.array([f[x] for x in col.tolist()]) if len(col) else 1.0
        rec[f"by_{key}"] = {k: {"available_tokens": avail[k], "factor": round(f[k], 6)} for k in names}
    # floor(f) copies for sure, one more with probability frac(f): unbiased and seeded.
    copies = np.floor(factor).astype(np.int64) + (rng.random(len(factor)) < factor - np.floor(factor))
    doc = np.repeat(np.arange(len(factor)), copies)
    first = np.repeat(np.cumsum(copies) - copies, copies)
    copy_no = np.arange(len(doc)) - first
    if cfg.shuffle:
        perm = rng.permutation(len(doc))
        doc, copy_no = doc[perm], copy_no[perm]
    tok = n_tokens[doc]
    before = np.cumsum(tok) - tok  # tokens ahead of each copy in the output order
    shard = before // cfg.target_tokens if cfg.target_tokens else np.zeros(len(doc), dtype=np.int64)
    n_shards = int(shard.max()) + 1 if len(doc) else 0
    for key, col in (("lang", lang), ("source", source)):
        for k, r in rec[f"by_{key}"].items():
            sel = col[doc] == k
            r["output_docs"], r["output_tokens"] = int(sel.sum()), int(tok[sel].sum())
    rec["input"] = {"docs": int(len(lang)), "tokens": int(n_tokens.sum())}
    rec["output"] = {"docs": int(len(doc)), "tokens": int(tok.sum()), "shards": n_shards}
    return doc, copy_no, shard.astype(np.int64), n_shards, rec


def scatter(out: Path, shard: str, rows: np.ndarray, copy_no: np.ndarray, rank: np.ndarray, dest: np.ndarray,
            n_shards: int, text: bool = False) -> int:
    """Send one input shard's planned copies to their output shards (one part file per output shard;
    with `text`, a text part beside each)."""
    out = storage.path(out)
    table = storage.read_parquet(tokenized_path(out, shard))
    texts = text_rows(out, shard, table) if text else None
    for j in np.unique(dest):
        sel = dest == j
        take = pa.array(rows[sel])
        # Row groups that each span about GATHER_ROWS ranks of the output shard, so a gather window
        # reads about one row group of each part: ~GATHER_ROWS rows however many input shards there
        # are (groups of a fixed GATHER_ROWS/4 rows made 35 parts read 143k rows per window at 16x).
        r = rank[sel]
        group = max(1, min(GATHER_ROWS // 4, -(-GATHER_ROWS * len(r) // (int(r[-1]) - int(r[0]) + 1))))
        extra = (("copy", pa.array(copy_no[sel], pa.int32())), ("rank", pa.array(r)))
        part = table.take(take).select(SHARD_SCHEMA.names[:-1])
        for name, col in extra:
            part = part.append_column(name, col)
        atomic_write_parquet(part, out / "work" / "shuffle" / shard_name(int(j), n_shards) / f"{shard}.parquet",
                             row_group_size=group)
        if texts is not None:
            tpart = texts.take(take)
            for name, col in extra:
                tpart = tpart.append_column(name, col)
            atomic_write_parquet(tpart, out / "work" / "shuffle_text" / shard_name(int(j), n_shards) / f"{shard}.parquet",
                                 row_group_size=group)
    del table, texts
    give_back(collect=False)  # a shards worker runs many of these
    return int(len(rows))


# Rows of one output shard held at once by `gather` (and the row groups of the parts `scatter` writes):
# the task's memory is set by this, not by the shard's size (`[shards] target_tokens`). A window is
# copied a few times on its way (read, filtered, ordered, cast): at 16,384 rows of ~3.7 KB pages the
# gather task of the 16x bench peaked at 625 MB.
GATHER_ROWS = 4_096


class _Hashing:
    """A write-only file that hashes the bytes passing through: the manifest's sha256 without
    holding the shard in memory or reading it back."""

    def __init__(self, f):
        self.f, self.sha, self.pos, self.closed = f, hashlib.sha256(), 0, False

    def write(self, b) -> int:
        b = bytes(b)
        self.sha.update(b)
        self.pos += len(b)
        return self.f.write(b)

    def tell(self) -> int:
        return self.pos

    def flush(self):
        self.f.flush()

    def close(self):  # the Output underneath is committed (or discarded) by its owner
        self.closed = True

    def writable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return False


def _rank_groups(parts: list) -> dict:
    """Per part, its row groups as (row group, lowest rank, highest rank) (footers only)."""
    out = {}
    for p in parts:
        md = storage.parquet_file(p).metadata
        col = md.schema.to_arrow_schema().get_field_index("rank")
        stats = [md.row_group(g).column(col).statistics for g in range(md.num_row_groups)]
        out[p] = [(g, st.min, st.max) for g, st in enumerate(stats)]
    return out


def _window(groups: dict, lo: int, hi: int) -> pa.Table | None:
    """The rows with rank in [lo, hi) of every part, in rank order (only the row groups that hold them)."""
    pieces = []
    for p, rgs in groups.items():
        if sel := [g for g, a, b in rgs if a < hi and b >= lo]:
            t = storage.parquet_file(p).read_row_groups(sel)
            pieces.append(t.filter(pc.and_(pc.greater_equal(t["rank"], lo), pc.less(t["rank"], hi))))
    if not pieces:
        return None
    t = pa.concat_tables(pieces, promote_options="default")
    return t.take(pc.sort_indices(t["rank"]))


def gather(out: Path, name: str, text: bool = False) -> dict:
    """Write an output shard (and its text shard) from its parts in the planned order, GATHER_ROWS
    ranks at a time (the parts are sorted by rank, so each window reads only its row groups); returns
    its manifest entry (rows, tokens, sha256 of the bytes written), so the driver never reads a shard
    back."""
    from mmedc.core.storage import Output
    from mmedc.shards.manifest import shard_entry

    out = storage.path(out)
    groups = _rank_groups(sorted((out / "work" / "shuffle" / name).glob("*.parquet"), key=str))
    tgroups = _rank_groups(sorted((out / "work" / "shuffle_text" / name).glob("*.parquet"), key=str)) if text else {}
    first = min((a for rgs in groups.values() for _, a, _ in rgs), default=0)
    last = max((b for rgs in groups.values() for *_, b in rgs), default=-1)
    tok_out, text_out, writers, summary = Output(out / "shards" / name), None, [], []
    try:
        sink = _Hashing(tok_out.file)
        tok_w = pq.ParquetWriter(sink, SHARD_SCHEMA, **PARQUET_OPTIONS)
        writers.append(tok_w)
        text_w = None
        for lo in range(first, last + 1, GATHER_ROWS):
            t = _window(groups, lo, lo + GATHER_ROWS)
            if t is not None:
                t = t.select(SHARD_SCHEMA.names).cast(SHARD_SCHEMA)
                tok_w.write_table(t)
                summary.append(t.select(["lang", "source", "n_tokens"]))
            if text and (tt := _window(tgroups, lo, lo + GATHER_ROWS)) is not None:
                tt = tt.drop_columns(["rank"])
                if text_w is None:  # the schema of the first window (parts of one recipe share it)
                    text_out = Output(out / "text" / name)
                    text_w = pq.ParquetWriter(text_out.file, tt.schema, **PARQUET_OPTIONS)
                    writers.append(text_w)
                text_w.write_table(tt.cast(text_w.schema))
        for w in writers:
            w.close()
        tok_out.commit()
        if text_out is not None:
            text_out.commit()
    except BaseException:
        for o in (tok_out, text_out):
            if o is not None:
                o.discard()
        raise
    lsn = pa.concat_tables(summary) if summary else pa.table({"lang": pa.array([], pa.string()), "source": pa.array(
        [], pa.string()), "n_tokens": pa.array([], pa.int32())})
    give_back(collect=False)
    return shard_entry(name, lsn, sink.sha.hexdigest())


def _map(fn, calls: list[tuple]) -> list:
    """Run calls as tasks of the current executor (nested tasks on Ray; a blocked parent lends its CPU)."""
    from mmedc.executor import current

    return current().map(fn, calls, name=f"shards-{fn.__name__}", pool="shards")  # own workers: see Executor.submit


def write_output_shards(recipe: Recipe, shards: list[str], out: Path, *_deps) -> list[str]:
    out = storage.path(out)
    meta = [storage.read_parquet(tokenized_path(out, s), columns=["lang", "source", "n_tokens"]) for s in shards]
    sizes = np.array([t.num_rows for t in meta], dtype=np.int64)
    cols = {c: np.concatenate([t[c].to_numpy(zero_copy_only=False) for t in meta]) if meta else np.array([])
            for c in ("lang", "source", "n_tokens")}
    doc, copy_no, dest, n_shards, rec = plan_mixture(
        recipe.shards, cols["lang"].astype(str), cols["source"].astype(str), cols["n_tokens"].astype(np.int64))
    text = recipe.shards.text
    for sub in ("shuffle", "shuffle_text"):
        storage.rmtree(out / "work" / sub)
    starts = np.cumsum(sizes) - sizes
    in_shard = np.searchsorted(starts, doc, side="right") - 1
    rank = np.arange(len(doc))
    calls = []
    for i, s in enumerate(shards):
        sel = in_shard == i
        if sel.any():
            calls.append((out, s, doc[sel] - starts[i], copy_no[sel], rank[sel], dest[sel], n_shards, text))
    _map(scatter, calls)
    written = [shard_name(j, n_shards) for j in range(n_shards)]
    entries = _map(gather, [(out, name, text) for name in written])
    if not text:
        storage.rmtree(out / "text")
    for dest_dir in [out / "shards"] + ([out / "text"] if text else []):
        storage.ensure_dir(dest_dir)
        for stale in dest_dir.glob("*.parquet"):
            if stale.name not in written:
                storage.remove(stale)
    for sub in ("shuffle", "shuffle_text"):
        storage.rmtree(out / "work" / sub)
    atomic_write_json(entries, out / "work" / "shards" / "files.json")
    atomic_write_json(rec, plan_path(out))
    return written


def submit(recipe: Recipe, shards: list[str], out: Path, deps: list):
    from mmedc.executor import current

    return current().submit(write_output_shards, recipe, shards, out, name="shards", deps=deps)
