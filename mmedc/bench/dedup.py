"""Near-dedup against ground truth: mmedc (Ray) vs datasketch MinHashLSH vs datatrove's MinHash stages.

Data: real documents from ../shared/data/text/dev.jsonl.gz (all languages) plus edited copies of some
of them (2-40% of words / CJK characters deleted or replaced). Ground truth: the exact Jaccard (word
2-grams, CJK character 2-grams: mmedc's shingles) of every pair that any method reports plus every
generated (original, copy) pair; a pair is a duplicate when its Jaccard >= the threshold.
Precision: of the pairs a method decides are duplicates — (dropped, kept) for the clustering methods
(mmedc, datatrove), LSH query results for datasketch (plain use, no verification) — the share with
Jaccard >= threshold. Recall: of the true pairs, the share the method puts together (same cluster,
or returned by the query). datatrove runs with a whitespace / CJK-character word tokenizer
(its default spaCy tokenizers are not installed; they run ~250 docs/s here, DESIGN.md).

docs/s: signatures on one core (in-process), and end to end (signatures + clustering; mmedc on an
embedded Ray with 2 CPUs, the others in one process). Peak memory: RSS high-water mark of the
process (datasketch, datatrove) or of the busiest Ray worker (mmedc, fresh Ray per input size).
"""
from __future__ import annotations

import gzip
import itertools
import json
import multiprocessing as mp
import random
import resource
import shutil
import tempfile
import time
from pathlib import Path

CJK = {"zh", "ja"}
RATES = [0.02, 0.05, 0.08, 0.12, 0.16, 0.2, 0.3, 0.4]
N_ORIG, N_COPY, SHARD = 1000, 500, 375


def edit(text: str, rate: float, rng: random.Random, cjk: bool) -> str:
    units = list(text) if cjk else text.split()
    k = max(1, round(rate * len(units)))
    for j, pos in enumerate(sorted(rng.sample(range(len(units)), k), reverse=True)):
        if j % 2:
            del units[pos]
        else:
            units[pos] = chr(0x4E00 + rng.randrange(20000)) if cjk else f"zq{rng.randrange(10 ** 6)}"
    return ("" if cjk else " ").join(units)


def corpus(data: Path, n_orig: int, n_copy: int, seed: int) -> tuple[list[dict], list[tuple[str, str]]]:
    rng = random.Random(seed)
    recs, seen = [], set()
    with gzip.open(data / "text" / "dev.jsonl.gz", "rt") as f:
        for line in f:
            r = json.loads(line)
            long = len(r["text"]) >= 150 if r["lang"] in CJK else len(r["text"].split()) >= 50
            if long and r["text"] not in seen:
                seen.add(r["text"])
                recs.append({"id": f"o{len(recs):06d}", "text": r["text"], "lang": r["lang"]})
    rng.shuffle(recs)
    docs = recs[:n_orig]
    pairs = []
    for k, o in enumerate(rng.sample(docs, n_copy)):
        cid = f"c{k:06d}"
        docs.append({"id": cid, "text": edit(o["text"], rng.choice(RATES), rng, o["lang"] in CJK), "lang": o["lang"]})
        pairs.append((o["id"], cid))
    return docs, pairs


def _pairs_from_clusters(cluster_of: dict[str, str]) -> set[tuple[str, str]]:
    groups: dict[str, list[str]] = {}
    for i, c in cluster_of.items():
        groups.setdefault(c, []).append(i)
    return {tuple(sorted(p)) for g in groups.values() for p in itertools.combinations(sorted(g), 2)}


def _decision_pairs(cluster_of: dict[str, str], docs: list[dict]) -> set[tuple[str, str]]:
    """(dropped, kept) for each dropped document; the kept one is the cluster's longest (then smallest id)."""
    length = {d["id"]: len(d["text"]) for d in docs}
    groups: dict[str, list[str]] = {}
    for i, c in cluster_of.items():
        groups.setdefault(c, []).append(i)
    out = set()
    for g in groups.values():
        keep = min(g, key=lambda i: (-length[i], i))
        out |= {tuple(sorted((i, keep))) for i in g if i != keep}
    return out


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# ------------------------------------------------------------------ mmedc
def run_mmedc(docs: list[dict], threshold: float, work: Path, parts: int) -> dict:
    from mmedc.config import DedupConfig
    from mmedc.dedup.cluster import run_plan
    from mmedc.dedup.index import make_plan
    from mmedc.dedup.minhash import signature_table
    from mmedc.executor import current

    ex = current()
    cfg = DedupConfig(threshold=threshold, partitions=parts)
    signature_table(docs[:10], cfg, CJK)  # imports and first-call costs out of the timing
    t0 = time.time()
    signature_table(docs[:4000], cfg, CJK)
    sig_rate = min(len(docs), 4000) / (time.time() - t0)
    shutil.rmtree(work, ignore_errors=True)
    t0 = time.time()
    shards, refs = [], []
    for k in range(0, len(docs), SHARD):
        name = f"s{k // SHARD:04d}"
        refs.append(ex.submit(_sign, cfg, docs[k:k + SHARD], str(work / "sig" / f"{name}.parquet"), name="dedup-sign"))
        shards.append((name, str(work / "sig" / f"{name}.parquet"), str(work / "dec" / f"{name}.parquet")))
    sign_rss = max(ex.result(h) for h in refs)
    summary = run_plan(make_plan(cfg, work / "stages", shards, len(docs)))
    seconds = time.time() - t0
    import pyarrow.parquet as pq

    cluster_of = {}
    for _, _, dec in shards:
        for r in pq.read_table(dec).to_pylist():
            cluster_of[r["id"]] = r["cluster"]
            cluster_of.setdefault(r["cluster"], r["cluster"])
    rss = dict(summary["peak_rss_mb"], sign=round(sign_rss, 1))
    return {"pairs": _decision_pairs(cluster_of, docs), "co": _pairs_from_clusters(cluster_of),
            "sig_rate": sig_rate, "rate": len(docs) / seconds,
            "rss": max(rss.values()), "rss_by_stage": rss}


def _sign(cfg, docs: list[dict], path: str) -> float:
    from mmedc.dedup.minhash import signature_table
    from mmedc.core.files import atomic_write_parquet

    atomic_write_parquet(signature_table(docs, cfg, CJK), Path(path))
    return _rss_mb()


# ------------------------------------------------------------------ datasketch
def _shingle_bytes(docs):
    """The same shingles as mmedc (word / CJK character 2-grams), as the bytes datasketch hashes."""
    from mmedc.dedup.normalize import normalize, shingle_hashes

    return [[h.tobytes() for h in shingle_hashes(normalize(d["text"]), 2, d["lang"] in CJK)] for d in docs]


def run_datasketch(docs: list[dict], threshold: float) -> dict:
    from datasketch import MinHash, MinHashLSH

    t0 = time.time()
    sh = _shingle_bytes(docs)
    mhs = MinHash.bulk(sh, num_perm=128)
    sig_time = time.time() - t0
    lsh = MinHashLSH(threshold=threshold, num_perm=128)
    for d, m in zip(docs, mhs):
        lsh.insert(d["id"], m)
    pairs = {tuple(sorted((d["id"], o))) for d, m in zip(docs, mhs) for o in lsh.query(m) if o != d["id"]}
    return {"pairs": pairs, "co": pairs, "sig_rate": len(docs) / sig_time, "rate": len(docs) / (time.time() - t0),
            "rss": _rss_mb()}


# ------------------------------------------------------------------ datatrove
def run_datatrove(docs: list[dict], threshold: float, work: str, spacy: bool) -> dict:
    from datasketch.lsh import _optimal_param
    from datatrove.data import Document
    from datatrove.executor import LocalPipelineExecutor
    from datatrove.pipeline.dedup.minhash import (MinhashConfig, MinhashDedupBuckets, MinhashDedupCluster,
                                                  MinhashDedupFilter, MinhashDedupSignature)
    from datatrove.utils.binaryio import read_tuples_from_file
    from datatrove.utils.hashing import HashConfig
    from datatrove.utils.word_tokenizers import WordTokenizer

    from mmedc.dedup.normalize import looks_cjk

    class SimpleTokenizer(WordTokenizer):  # whitespace words; CJK: characters (no spaCy here)
        def word_tokenize(self, text):
            return list(text.replace(" ", "")) if looks_cjk(text) else text.split()

        def sent_tokenize(self, text):
            return [text]

        def span_tokenize(self, text):
            return [(0, len(text))]

    def read(data, rank: int = 0, world_size: int = 1):  # documents from memory (no orjson needed)
        for d in docs:
            yield Document(text=d["text"], id=d["id"], metadata={})

    def sink(data, rank: int = 0, world_size: int = 1):
        for _ in data:
            pass
        return iter(())

    if spacy:  # datatrove's default word tokenizer (spaCy, English rules for every document)
        from datatrove.utils.word_tokenizers import load_word_tokenizer

        tokenizer = load_word_tokenizer("en")
    else:
        tokenizer = SimpleTokenizer()
    w = Path(work)
    b, r = _optimal_param(threshold, 128, 0.5, 0.5)
    # sha1: datatrove 0.10.1's default xxhash path passes str, which xxhash 4.x refuses
    cfg = MinhashConfig(n_grams=2, num_buckets=b, hashes_per_bucket=r, hash_config=HashConfig(hash_fc="sha1"))
    common = dict(workers=1, skip_completed=False)
    t0 = time.time()
    LocalPipelineExecutor([read, MinhashDedupSignature(str(w / "sigs"), config=cfg, language=tokenizer)],
                          tasks=1, logging_dir=str(w / "l1"), **common).run()
    sig_time = time.time() - t0
    LocalPipelineExecutor([MinhashDedupBuckets(str(w / "sigs"), str(w / "buckets"), config=cfg)],
                          tasks=b, logging_dir=str(w / "l2"), **common).run()
    LocalPipelineExecutor([MinhashDedupCluster(str(w / "buckets"), str(w / "remove"), config=cfg, save_cluster_id=True)],
                          tasks=1, logging_dir=str(w / "l3"), **common).run()
    LocalPipelineExecutor([read, MinhashDedupFilter(str(w / "remove")), sink], tasks=1, logging_dir=str(w / "l4"),
                          **common).run()
    seconds = time.time() - t0
    cluster_of = {}
    clusters = w / "remove" / "000000.clusters"
    if clusters.exists():
        with open(clusters, "rb") as f:
            for idx, c in read_tuples_from_file(f, "2I"):
                cluster_of[docs[idx]["id"]] = str(c)
    return {"pairs": _decision_pairs(cluster_of, docs), "co": _pairs_from_clusters(cluster_of),
            "sig_rate": len(docs) / sig_time, "rate": len(docs) / seconds, "rss": _rss_mb()}


def _in_child(fn, *args):
    """Run in a fresh process so its peak RSS is its own."""
    with mp.get_context("spawn").Pool(1) as pool:
        return pool.apply(fn, args)


# ------------------------------------------------------------------ ground truth
def score(results: dict, docs: list[dict], gen_pairs, threshold_of: dict) -> dict:
    from mmedc.dedup.normalize import jaccard, normalize, shingle_hashes

    by_id = {d["id"]: d for d in docs}
    universe = {tuple(sorted(p)) for p in gen_pairs}
    for r in results.values():
        universe |= r["pairs"] | r["co"]
    cache = {}

    def sh(i):
        if i not in cache:
            cache[i] = shingle_hashes(normalize(by_id[i]["text"]), 2, by_id[i]["lang"] in CJK)
        return cache[i]

    jac = {p: jaccard(sh(p[0]), sh(p[1])) for p in universe}
    out = {}
    for name, r in results.items():
        t = threshold_of[name]
        truth = {p for p, j in jac.items() if j >= t}
        tp = len(r["pairs"] & truth)
        found = len(r["co"] & truth)
        out[name] = {"precision": tp / len(r["pairs"]) if r["pairs"] else 1.0, "recall": found / len(truth) if truth else 1.0,
                     "pairs": len(r["pairs"]), "truth": len(truth)}
    return out


def run():
    from rich.console import Console
    from rich.table import Table

    from mmedc.executor.ray_executor import start as init_ray, stop
    from mmedc.paths import dev_data_dir

    data = dev_data_dir()
    if data is None:
        print("skipped: ../shared/data not present (set MMEDC_DEV_DATA)")
        return
    docs, gen = corpus(data, N_ORIG, N_COPY, seed=0)
    docs4, _ = corpus(data, 4 * N_ORIG, 4 * N_COPY, seed=1)
    tmp = Path(tempfile.mkdtemp(prefix="mmedc-bench-dedup-"))
    results, thr = {}, {}
    try:
        stop()
        init_ray(None, 2)
        run_mmedc(docs[:50], 0.8, tmp / "warm", parts=2)  # start the workers outside the timings
        for t in (0.8, 0.6):
            results[f"mmedc @{t}"] = run_mmedc(docs, t, tmp / f"m{t}", parts=2)
            thr[f"mmedc @{t}"] = t
            if t == 0.8:
                rss_1x = results[f"mmedc @{t}"]["rss_by_stage"]
        stop()
        init_ray(None, 2)  # fresh workers: their RSS peaks are this input's
        run_mmedc(docs4[:50], 0.8, tmp / "warm4", parts=2)
        big = run_mmedc(docs4, 0.8, tmp / "m4x", parts=8)
        stop()
        results["datasketch MinHashLSH @0.8"] = _in_child(run_datasketch, docs, 0.8)
        thr["datasketch MinHashLSH @0.8"] = 0.8
        import importlib.util

        for label, spacy in (("whitespace", False), ("spaCy en", True)):
            name = f"datatrove MinHash ({label}) @0.8"
            if spacy and importlib.util.find_spec("spacy") is None:
                print(f"{name}: skipped, spaCy not installed (pip install spacy)")
                continue
            try:
                results[name] = _in_child(run_datatrove, docs, 0.8, str(tmp / f"dt{spacy}"), spacy)
                thr[name] = 0.8
            except Exception as e:  # noqa: BLE001 - report and go on with the others
                print(f"{name} failed: {type(e).__name__}: {e}")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    scores = score(results, docs, gen, thr)
    table = Table(title=f"near-dedup vs exact Jaccard: {len(docs)} docs ({N_COPY} edited copies), 2 CPUs")
    for c in ("method", "precision", "recall", "pairs / true", "sig docs/s (1 core)", "end-to-end docs/s", "peak RSS MB"):
        table.add_column(c, justify="left" if c == "method" else "right")
    for name, r in results.items():
        s = scores[name]
        table.add_row(name, f"{s['precision']:.3f}", f"{s['recall']:.3f}", f"{s['pairs']} / {s['truth']}",
                      f"{r['sig_rate']:,.0f}", f"{r['rate']:,.0f}", f"{r['rss']:.0f}")
    Console(width=160).print(table)
    mem = Table(title=f"mmedc per Ray worker (fresh Ray per input), shards of {SHARD} docs, partitions ∝ input")
    mem.add_column("")
    mem.add_column(f"{len(docs)} docs, 2 partitions", justify="right")
    mem.add_column(f"{len(docs4)} docs, 8 partitions", justify="right")
    mem.add_row("peak RSS MB, max over workers", f"{max(rss_1x.values()):.0f}", f"{max(big['rss_by_stage'].values()):.0f}")
    mem.add_row("end-to-end docs/s", f"{results['mmedc @0.8']['rate']:,.0f}", f"{big['rate']:,.0f}")
    Console(width=160).print(mem)
