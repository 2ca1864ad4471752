"""MinHash signatures (datasketch) per shard, then LSH bands and union-find over all shards.

Foundation version: signatures are computed per shard in parallel on Ray; clustering runs as one
Ray task over the band keys and signatures (small per document: 4 bytes x num_perm).
"""
from __future__ import annotations

import hashlib
from collections import defaultdict

import numpy as np
import pyarrow as pa

from mmedc.config import DedupConfig
from mmedc.dedup.normalize import exact_hash, shingles

SIG_SCHEMA = pa.schema([("id", pa.string()), ("chars", pa.int64()), ("exact", pa.string()),
                        ("sig", pa.list_(pa.uint32()))])


def bands_rows(cfg: DedupConfig) -> tuple[int, int]:
    """Bands and rows from the recipe, or the datasketch optimum for the Jaccard threshold."""
    if cfg.bands and cfg.rows:
        if cfg.bands * cfg.rows > cfg.num_perm:
            raise ValueError(f"bands x rows = {cfg.bands * cfg.rows} > num_perm = {cfg.num_perm}")
        return cfg.bands, cfg.rows
    from datasketch.lsh import _optimal_param

    return _optimal_param(cfg.threshold, cfg.num_perm, 0.5, 0.5)


def signatures(docs: list[dict], cfg: DedupConfig, cjk_langs: set[str]) -> pa.Table:
    from datasketch import MinHash

    sh = [shingles(d["text"], cfg.cjk_ngram if d.get("lang") in cjk_langs else cfg.ngram,
                   d.get("lang") in cjk_langs) for d in docs]
    mh = MinHash.bulk(sh, num_perm=cfg.num_perm, seed=cfg.seed) if docs else []
    return pa.Table.from_pydict(
        {"id": [d["id"] for d in docs], "chars": [len(d["text"]) for d in docs],
         "exact": [exact_hash(d["text"]) for d in docs],
         "sig": [m.hashvalues.astype(np.uint32) for m in mh]}, schema=SIG_SCHEMA)


class _UnionFind:
    def __init__(self, n: int):
        self.parent = list(range(n))

    def find(self, i: int) -> int:
        while self.parent[i] != i:
            self.parent[i] = self.parent[self.parent[i]]
            i = self.parent[i]
        return i

    def union(self, a: int, b: int):
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)


def find_duplicates(table: pa.Table, cfg: DedupConfig) -> pa.Table:
    """Clusters of exact and near duplicates; one row per document that is not its cluster's survivor.

    Survivor rule (deterministic): the longest text, ties broken by the smallest id.
    Near-duplicate candidates from LSH are verified by their estimated Jaccard (share of equal
    MinHash values) before they are merged.
    """
    ids = table.column("id").to_pylist()
    n = len(ids)
    out = {"id": [], "cluster": [], "kind": [], "similarity": []}
    if n == 0:
        return pa.Table.from_pydict(out, schema=DUP_SCHEMA)
    chars = table.column("chars").to_numpy()
    uf = _UnionFind(n)
    exact = table.column("exact").to_pylist()
    sig = np.asarray(table.column("sig").combine_chunks().flatten().to_numpy()).reshape(n, -1)
    if cfg.exact:
        first = {}
        for i, h in enumerate(exact):
            if h in first:
                uf.union(first[h], i)
            else:
                first[h] = i
    if cfg.near and n > 1:
        b, r = bands_rows(cfg)
        for band in range(b):
            buckets = defaultdict(list)
            block = np.ascontiguousarray(sig[:, band * r:(band + 1) * r])
            for i in range(n):
                buckets[hashlib.blake2b(block[i].tobytes(), digest_size=8).digest()].append(i)
            for members in buckets.values():
                if len(members) < 2:
                    continue
                head = members[0]
                for j in members[1:]:
                    if uf.find(j) == uf.find(head):
                        continue
                    if float(np.mean(sig[head] == sig[j])) >= cfg.threshold:
                        uf.union(head, j)
    groups = defaultdict(list)
    for i in range(n):
        groups[uf.find(i)].append(i)
    for members in groups.values():
        if len(members) < 2:
            continue
        keep = min(members, key=lambda i: (-int(chars[i]), ids[i]))
        for i in sorted(members, key=lambda i: ids[i]):
            if i == keep:
                continue
            out["id"].append(ids[i])
            out["cluster"].append(ids[keep])
            same = exact[i] == exact[keep]
            out["kind"].append("exact" if same else "near")
            out["similarity"].append(1.0 if same else float(np.mean(sig[i] == sig[keep])))
    return pa.Table.from_pydict(out, schema=DUP_SCHEMA)


DUP_SCHEMA = pa.schema([("id", pa.string()), ("cluster", pa.string()), ("kind", pa.string()),
                        ("similarity", pa.float32())])
