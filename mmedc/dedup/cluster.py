"""Distributed near-dedup on Ray: band shuffle → verified edges → connected components → survivors.

No step holds all signatures or all documents: per-shard tasks read one shard (plus the rows of
other shards they need, one shard at a time), per-partition tasks read one hash partition of band
keys or edges. Stages exchange Parquet files under `work/`, each with a `part`/`dest` column that the
next stage's task filters on (a shuffle through shared storage).

  bands     per shard      band keys (+ exact-hash key) → partition by key
  cands     per partition  buckets → candidate pairs (star + chain per bucket) → dest = shard of b
  verify    per shard      exact Jaccard on shingles ≥ threshold → edges, partitioned by node
  star      per partition  large-star / small-star rounds until every component is a star (Kiveris
                           et al. 2014, "Connected components in MapReduce and beyond")
  labels    per partition  node → component id (its smallest node)
  attrs     per shard      component id, chars, id of each clustered node → partition by component
  choose    per partition  survivor of each component (rule below) → dest = shard of node
  decide    per shard      similarity to the survivor, kind exact/near → work/dedup/<shard>.parquet;
                           kept documents' signatures appended to the index

Survivor: a document already in the index, else the longest text, ties by the smallest id.
Node ids are int64: shard code << 32 | row, index shards first (so index nodes are the smallest).
"""
from __future__ import annotations

import json
import resource
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa

from mmedc.config import DedupConfig
from mmedc.dedup.minhash import band_keys
from mmedc.dedup.normalize import jaccard, mix64
from mmedc.core import storage
from mmedc.core.files import atomic_write_parquet
from mmedc.core.memory import give_back

ROW_MASK = np.int64(0xFFFFFFFF)
MAX_STAR_ROUNDS = 64
DUP_SCHEMA = pa.schema([("id", pa.string()), ("cluster", pa.string()), ("kind", pa.string()),
                        ("similarity", pa.float32())])


@dataclass
class Shard:
    name: str
    sig: str  # signature file (id, chars, exact, sig, shingles)
    bands: str  # band-key file (part, band, key, row)
    index: bool  # already in the index: never dropped, wins its cluster
    decisions: str = ""  # where `decide` writes this shard's duplicates (new shards)


@dataclass
class Plan:
    cfg: DedupConfig
    bands: int
    rows: int
    parts: int
    work: str
    shards: list[Shard]
    index_dir: str = ""  # extend this index with the kept documents
    batch: str = ""
    fresh_workers: bool = False  # bench: one process per task, so its peak RSS is the task's own
    n_index: int = field(init=False, default=0)

    def __post_init__(self):
        self.n_index = sum(s.index for s in self.shards)
        assert all(s.index for s in self.shards[:self.n_index]), "index shards come first"

    def path(self, *parts) -> Path:
        p = storage.path(self.work)  # a local folder or a URI (mmedc.core.storage)
        for part in parts:
            p = p / str(part)
        return p


# ---------------------------------------------------------------- helpers
def node_part(nodes: np.ndarray, parts: int) -> np.ndarray:
    return (mix64(nodes.astype(np.uint64)) % np.uint64(parts)).astype(np.uint16)


def _read(paths, column: str, value: int, columns: list[str]) -> pa.Table | None:
    tables = []
    for p in paths:
        try:  # a partition no task wrote to is absent (one request fewer than asking first)
            t = storage.read_parquet(p, columns=columns, filters=[(column, "=", value)])
        except FileNotFoundError:
            continue
        if t.num_rows:
            tables.append(t)
    return pa.concat_tables(tables) if tables else None


def _stats(t0: float, **kw) -> dict:
    """A stage task's figures, at its end: its memory goes back first (a dedup worker runs dozens of
    these tasks one after another, and what one freed would stay with the worker)."""
    give_back(collect=False)
    return {"seconds": time.time() - t0, "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, **kw}


def _write_parted(table: pa.Table, key: str, path: Path):
    """Sorted by the partition column with small row groups, so readers' filters skip most of the file."""
    atomic_write_parquet(table.sort_by(key), path)


def _np(table: pa.Table | None, col: str, dtype) -> np.ndarray:
    if table is None:
        return np.zeros(0, dtype)
    return table.column(col).to_numpy().astype(dtype, copy=False)


def _unique_pairs(u: np.ndarray, v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    if len(u) == 0:
        return u, v
    order = np.lexsort((v, u))
    u, v = u[order], v[order]
    keep = np.ones(len(u), bool)
    keep[1:] = (u[1:] != u[:-1]) | (v[1:] != v[:-1])
    return u[keep], v[keep]


def shingles_of(plan: Plan, nodes: np.ndarray) -> dict[int, np.ndarray]:
    """Shingle arrays of the given nodes, reading one shard's shingles column at a time."""
    out = {}
    nodes = np.unique(nodes)
    codes = nodes >> 32
    for code in np.unique(codes):
        sel = nodes[codes == code]
        col = storage.read_parquet(plan.shards[int(code)].sig, columns=["shingles"]).column("shingles")
        for n in sel:  # a copy: a view would keep the shard's whole column alive after `del col`
            out[int(n)] = col[int(n & ROW_MASK)].values.to_numpy().copy()
        del col
    return out


# ---------------------------------------------------------------- stages
def band_table(sig_table: pa.Table, plan: Plan) -> pa.Table:
    """part, band, key, row for every document: `bands` LSH keys plus the exact hash as band `bands`."""
    n = sig_table.num_rows
    sig = sig_table.column("sig").combine_chunks().flatten().to_numpy().reshape(n, -1) if n else np.zeros((0, plan.cfg.num_perm), np.uint32)
    cols, ids = [], []
    if plan.cfg.near:
        cols.append(band_keys(sig, plan.bands, plan.rows))
        ids.extend(range(plan.bands))
    if plan.cfg.exact:
        cols.append(sig_table.column("exact").to_numpy().astype(np.uint64).reshape(n, 1))
        ids.append(plan.bands)
    keys = np.concatenate(cols, axis=1) if cols else np.zeros((n, 0), np.uint64)
    nb = keys.shape[1]
    band_ids = np.tile(np.array(ids, np.uint16), n)
    flat = keys.ravel()
    return pa.table({"part": (flat % np.uint64(plan.parts)).astype(np.uint16), "band": band_ids[:len(flat)],
                     "key": flat, "row": np.repeat(np.arange(n, dtype=np.uint32), nb)})


def stage_bands(plan: Plan, code: int) -> dict:
    t0 = time.time()
    sh = plan.shards[code]
    t = band_table(storage.read_parquet(sh.sig, columns=["sig", "exact"]), plan)
    _write_parted(t, "part", sh.bands)
    return _stats(t0, rows=t.num_rows)


def stage_cands(plan: Plan, p: int) -> dict:
    t0 = time.time()
    nodes, keys, bands = [], [], []
    for code, sh in enumerate(plan.shards):
        t = _read([sh.bands], "part", p, ["band", "key", "row"])
        if t is None:
            continue
        nodes.append((np.int64(code) << 32) | _np(t, "row", np.int64))
        keys.append(_np(t, "key", np.uint64))
        bands.append(_np(t, "band", np.uint16))
    a = b = np.zeros(0, np.int64)
    exact = np.zeros(0, bool)
    if nodes:
        node, key, band = np.concatenate(nodes), np.concatenate(keys), np.concatenate(bands)
        del nodes, keys, bands
        order = np.lexsort((node, key, band))
        node, key, band = node[order], key[order], band[order]
        new_group = np.ones(len(node), bool)
        new_group[1:] = (key[1:] != key[:-1]) | (band[1:] != band[:-1])
        start = np.maximum.accumulate(np.where(new_group, np.arange(len(node)), 0))
        is_exact = band == plan.bands
        # Star to the bucket's first node, plus a chain between neighbours (LSH buckets only), so one
        # chance member that fails verification does not cut the bucket apart.
        idx = np.nonzero(~new_group)[0]
        star_a, star_b = node[start[idx]], node[idx]
        chain = idx[(~is_exact[idx]) & (start[idx] != idx - 1)]
        a = np.concatenate([star_a, node[chain - 1]])
        b = np.concatenate([star_b, node[chain]])
        exact = np.concatenate([is_exact[idx], np.zeros(len(chain), bool)])
        new = (b >> 32) >= plan.n_index  # pairs of two index documents were settled before
        a, b, exact = a[new], b[new], exact[new]
    t = pa.table({"dest": (b >> 32).astype(np.uint32), "a": a, "b": b, "exact": exact})
    _write_parted(t, "dest", plan.path("cands", f"{p}.parquet"))
    return _stats(t0, pairs=t.num_rows)


def stage_verify(plan: Plan, code: int) -> dict:
    t0 = time.time()
    t = _read([plan.path("cands", f"{p}.parquet") for p in range(plan.parts)], "dest", code, ["a", "b", "exact"])
    a, b, ex = _np(t, "a", np.int64), _np(t, "b", np.int64), _np(t, "exact", bool)
    del t
    # exact pairs need no check (equal normalised text); the others are verified once each.
    ea, eb = _unique_pairs(a[ex], b[ex])
    na, nb = _unique_pairs(a[~ex], b[~ex])
    if len(ea) and len(na):
        done = set(zip(ea.tolist(), eb.tolist()))
        keep = np.array([(x, y) not in done for x, y in zip(na.tolist(), nb.tolist())], bool)
        na, nb = na[keep], nb[keep]
    ok = np.zeros(len(na), bool)
    if len(na):
        sh = shingles_of(plan, np.concatenate([na, nb]))
        ok = np.array([jaccard(sh[int(x)], sh[int(y)]) >= plan.cfg.threshold for x, y in zip(na, nb)], bool)
    u = np.concatenate([ea, na[ok]])
    v = np.concatenate([eb, nb[ok]])
    _write_edges(plan, np.concatenate([u, v]), np.concatenate([v, u]), plan.path("cc", 0, f"s{code}.parquet"))
    return _stats(t0, candidates=int(len(ea) + len(na)), edges=int(len(u)))


def _write_edges(plan: Plan, u: np.ndarray, v: np.ndarray, path: Path):
    _write_parted(pa.table({"part": node_part(u, plan.parts), "u": u, "v": v}), "part", path)


def _edges_in(plan: Plan, step: int, p: int) -> tuple[np.ndarray, np.ndarray]:
    t = _read(sorted(plan.path("cc", step).glob("*.parquet"), key=str), "part", p, ["u", "v"])
    return _unique_pairs(_np(t, "u", np.int64), _np(t, "v", np.int64))


def _groups(u: np.ndarray) -> np.ndarray:
    """Index of the first edge of each edge's node group (edges sorted by u)."""
    first = np.ones(len(u), bool)
    first[1:] = u[1:] != u[:-1]
    return np.maximum.accumulate(np.where(first, np.arange(len(u)), 0))


def stage_star(plan: Plan, step: int, p: int, large: bool) -> dict:
    """One large-star or small-star step on partition p (edges sorted by (u, v); both directions stored).

    Also counts nodes that break the final star shape (a neighbour on both sides, or two smaller
    neighbours) in the input: zero everywhere means every component is a star around its minimum.
    """
    t0 = time.time()
    u, v = _edges_in(plan, step, p)
    start = _groups(u)
    smaller = v < u
    n_small = np.bincount(start, weights=smaller, minlength=len(u)) if len(u) else np.zeros(0)
    n_large = np.bincount(start, weights=~smaller, minlength=len(u)) if len(u) else np.zeros(0)
    heads = np.unique(start)
    violations = int(np.sum((n_small[heads] >= 2) | ((n_small[heads] >= 1) & (n_large[heads] >= 1))))
    if large:  # connect every larger neighbour to the smallest of the neighbourhood (itself included)
        m = np.minimum(u, v[start])
        sel = v > u
        x, y = v[sel], m[sel]
    else:  # connect the node and its smaller neighbours to the smallest of them
        m = v[start]  # sorted by v: the smallest neighbour
        sel = smaller
        heads_small = heads[n_small[heads] >= 1]
        x = np.concatenate([v[sel], u[heads_small]])
        y = np.concatenate([m[sel], m[heads_small]])
        keep = x != y
        x, y = x[keep], y[keep]
    _write_edges(plan, np.concatenate([x, y]), np.concatenate([y, x]), plan.path("cc", step + 1, f"p{p}.parquet"))
    return _stats(t0, violations=violations, edges=int(len(u)))


def stage_labels(plan: Plan, step: int, p: int) -> dict:
    """In star form every edge joins a component's smallest node (its id) with a member."""
    t0 = time.time()
    u, v = _edges_in(plan, step, p)
    sel = u < v
    node = np.concatenate([v[sel], np.unique(u[sel])])
    comp = np.concatenate([u[sel], np.unique(u[sel])])
    t = pa.table({"dest": (node >> 32).astype(np.uint32), "node": node, "comp": comp})
    _write_parted(t, "dest", plan.path("labels", f"{p}.parquet"))
    return _stats(t0, codes=sorted(set((node >> 32).tolist())))


def stage_attrs(plan: Plan, code: int) -> dict:
    t0 = time.time()
    t = _read([plan.path("labels", f"{p}.parquet") for p in range(plan.parts)], "dest", code, ["node", "comp"])
    node, comp = _np(t, "node", np.int64), _np(t, "comp", np.int64)
    sig = storage.read_parquet(plan.shards[code].sig, columns=["id", "chars", "exact"]).take(pa.array(node & ROW_MASK))
    out = pa.table({"part": node_part(comp, plan.parts), "comp": comp, "node": node,
                    "index": np.full(len(node), plan.shards[code].index), "chars": sig.column("chars"),
                    "id": sig.column("id"), "exact": sig.column("exact")})
    _write_parted(out, "part", plan.path("attrs", f"{code}.parquet"))
    return _stats(t0)


def stage_choose(plan: Plan, p: int, codes: list[int]) -> dict:
    import polars as pl

    t0 = time.time()
    t = _read([plan.path("attrs", f"{c}.parquet") for c in codes], "part", p,
              ["comp", "node", "index", "chars", "id", "exact"])
    if t is None:
        out = pl.DataFrame(schema={"dest": pl.UInt32, "node": pl.Int64, "exact": pl.UInt64, "s_node": pl.Int64,
                                   "s_id": pl.String, "s_exact": pl.UInt64})
    else:
        df = pl.from_arrow(t).sort(["comp", "index", "chars", "id"], descending=[False, True, True, False])
        surv = df.group_by("comp", maintain_order=True).first().select(
            "comp", s_node="node", s_id="id", s_exact="exact")
        out = (df.join(surv, on="comp").filter(~pl.col("index"), pl.col("node") != pl.col("s_node"))
               .select((pl.col("node") // (1 << 32)).cast(pl.UInt32).alias("dest"), "node", "exact", "s_node", "s_id", "s_exact"))
    _write_parted(out.to_arrow(), "dest", plan.path("choose", f"{p}.parquet"))
    return _stats(t0)


def stage_decide(plan: Plan, code: int) -> dict:
    t0 = time.time()
    sh = plan.shards[code]
    t = _read([plan.path("choose", f"{p}.parquet") for p in range(plan.parts)], "dest", code,
              ["node", "exact", "s_node", "s_id", "s_exact"])
    node, s_node = _np(t, "node", np.int64), _np(t, "s_node", np.int64)
    same = _np(t, "exact", np.uint64) == _np(t, "s_exact", np.uint64)
    sims = np.ones(len(node), np.float32)
    if (~same).any():
        shg = shingles_of(plan, np.concatenate([node[~same], s_node[~same]]))
        sims[~same] = [jaccard(shg[int(x)], shg[int(y)]) for x, y in zip(node[~same], s_node[~same])]
    sig = storage.read_parquet(sh.sig)
    rows = node & ROW_MASK
    dups = pa.table({"id": sig.column("id").take(pa.array(rows)), "cluster": t.column("s_id") if t is not None else pa.array([], pa.string()),
                     "kind": pa.array(np.where(same, "exact", "near").tolist(), pa.string()),
                     "similarity": pa.array(sims, pa.float32())}, schema=DUP_SCHEMA).sort_by("id")
    atomic_write_parquet(dups, sh.decisions)
    if plan.index_dir:  # the kept documents join the index (signatures, shingles and band keys)
        keep = np.ones(sig.num_rows, bool)
        keep[rows] = False
        kept = sig.filter(pa.array(keep))
        batch = storage.path(plan.index_dir) / plan.batch
        atomic_write_parquet(kept, batch / f"{sh.name}.sig.parquet")
        _write_parted(band_table(kept, plan), "part", batch / f"{sh.name}.bands.parquet")
    return _stats(t0, duplicates=len(node), kept=int(sig.num_rows - len(node)))


# ---------------------------------------------------------------- orchestration
def components(plan: Plan, run) -> int:
    """Large-star / small-star steps over the edge partitions until every component is a star;
    returns the step whose input is final. run(fn, [args...], name) runs one task per args."""
    for step in range(MAX_STAR_ROUNDS * 2):
        res = run(stage_star, [(plan, step, p, step % 2 == 0) for p in range(plan.parts)], "star")
        if step % 2 == 0 and sum(r["violations"] for r in res) == 0:
            return step  # the input of this large-star step was already all stars
    raise RuntimeError(f"connected components did not converge in {MAX_STAR_ROUNDS} rounds")


def run_plan(plan: Plan, *_deps) -> dict:
    """Runs every stage as tasks of the current executor (this function itself runs as a zero-CPU task
    or in the driver)."""
    from mmedc.executor import current

    ex = current()
    t0 = time.time()
    storage.rmtree(plan.work)

    class _Task:  # fn.remote(*args) -> a handle, as the stages below are written
        def __init__(self, fn, name):
            self.fn, self.name = fn, name

        def remote(self, *args):
            return ex.submit(self.fn, *args, name=self.name, num_cpus=1, retries=3, fresh=plan.fresh_workers,
                             pool="dedup")  # not in the filter's workers, which hold its models

    def remote(fn, name):
        return _Task(fn, f"dedup-{name}")

    new = [c for c, s in enumerate(plan.shards) if not s.index]
    stats: dict[str, list] = {}

    def gather(name, refs):
        res = [ex.result(h) for h in refs]
        stats.setdefault(name, []).extend(res)
        return res

    gather("bands", [remote(stage_bands, "bands").remote(plan, c) for c in new])
    gather("cands", [remote(stage_cands, "cands").remote(plan, p) for p in range(plan.parts)])
    gather("verify", [remote(stage_verify, "verify").remote(plan, c) for c in new])
    step = components(plan, lambda fn, args, name: gather(name, [remote(fn, name).remote(*a) for a in args]))
    labels = gather("labels", [remote(stage_labels, "labels").remote(plan, step, p) for p in range(plan.parts)])
    codes = sorted({c for r in labels for c in r["codes"]})
    gather("attrs", [remote(stage_attrs, "attrs").remote(plan, c) for c in codes])
    gather("choose", [remote(stage_choose, "choose").remote(plan, p, codes) for p in range(plan.parts)])
    decided = gather("decide", [remote(stage_decide, "decide").remote(plan, c) for c in new])
    if plan.index_dir:
        from mmedc.dedup.index import add_batch

        add_batch(plan, [plan.shards[c].name for c in new])
    summary = {"seconds": round(time.time() - t0, 3), "star_steps": step + 1,
               "duplicates": sum(r["duplicates"] for r in decided), "kept": sum(r["kept"] for r in decided),
               "edges": sum(r["edges"] for r in stats["verify"]),
               "candidates": sum(r["candidates"] for r in stats["verify"]),
               "peak_rss_mb": {k: round(max(r["rss_mb"] for r in v), 1) for k, v in stats.items() if v}}
    storage.write_bytes(plan.path("summary.json"), json.dumps(summary, indent=2).encode())
    return summary


def submit_plan(plan: Plan, deps: list):
    """run_plan as one zero-CPU task after `deps` (executor handles); returns its handle."""
    from mmedc.executor import current

    return current().submit(run_plan, plan, name="dedup", num_cpus=0, retries=1, deps=deps)
