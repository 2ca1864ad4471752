"""Dedup: what counts as a near-duplicate under the defaults, the distributed clustering on Ray
(bands → verified edges → connected components → survivors), determinism, the index, the CLI."""
from __future__ import annotations

import dataclasses
import json
import random

import pyarrow.parquet as pq
import pytest

from mmedc.config import DedupConfig
from mmedc.dedup.index import DedupIndexError, make_plan, read_index
from mmedc.dedup.minhash import bands_rows, candidate_probability, signature_table
from mmedc.dedup.normalize import jaccard, normalize, shingle_hashes
from mmedc.core.files import atomic_write_parquet
from mmedc.sample.texts import GENERAL, MEDICAL

CJK = {"zh", "ja"}


def edit(text: str, rate: float, seed: int, cjk: bool, mode: str = "mix") -> str:
    """`rate` of the words (CJK: characters) deleted or replaced by words that are not in the text."""
    rng = random.Random(seed)
    units = list(text) if cjk else text.split()
    k = max(1, round(rate * len(units)))
    for j, pos in enumerate(sorted(rng.sample(range(len(units)), k), reverse=True)):
        if mode == "mix" and j % 2:
            del units[pos]
        else:
            units[pos] = chr(0x4E00 + rng.randrange(20000)) if cjk else f"zq{rng.randrange(10 ** 6)}"
    return ("" if cjk else " ").join(units)


def sim(a: str, b: str, cjk: bool, cfg=DedupConfig()) -> float:
    n = cfg.cjk_ngram if cjk else cfg.ngram
    return jaccard(shingle_hashes(normalize(a), n, cjk), shingle_hashes(normalize(b), n, cjk))


def run_dedup(tmp_path, shards: list[list[dict]], cfg=None, index=None, batch="b", name="run"):
    """The real distributed dedup on the session's Ray: signatures per shard, then run_plan."""
    from mmedc.dedup.cluster import run_plan

    cfg = cfg or DedupConfig()
    work = tmp_path / name
    new = []
    for k, docs in enumerate(shards):
        sig = work / "sig" / f"s{k}.parquet"
        atomic_write_parquet(signature_table(docs, cfg, CJK), sig)
        new.append((f"s{k}", str(sig), str(work / "dec" / f"s{k}.parquet")))
    plan = make_plan(cfg, work / "stages", new, sum(map(len, shards)), index, batch)
    summary = run_plan(plan)
    dups = {}
    for _, _, dec in new:
        dups.update({r["id"]: r for r in pq.read_table(dec).to_pylist()})
    return dups, summary


def docs(*items):
    return [{"id": i, "text": t, "lang": lang} for i, t, lang in items]


# ------------------------------------------------------------ the defaults' meaning (no Ray)
def test_defaults_separate_small_edits_from_rewrites(dev_data):
    """On real documents in every language: ~8% edited → above the threshold; 40% → far below."""
    import gzip

    cfg = DedupConfig()
    by_lang: dict[str, list[str]] = {}
    with gzip.open(dev_data / "text" / "dev.jsonl.gz", "rt") as f:
        for line in f:
            r = json.loads(line)
            cjk = r["lang"] in CJK
            if (len(r["text"]) >= 150 if cjk else len(r["text"].split()) >= 50) and len(by_lang.setdefault(r["lang"], [])) < 60:
                by_lang[r["lang"]].append(r["text"])
    assert set(by_lang) >= {"en", "zh", "ja", "fr", "ru", "es"}
    for lang, texts in by_lang.items():
        cjk = lang in CJK
        near = [sim(t, edit(t, 0.08, i, cjk), cjk) for i, t in enumerate(texts)]
        far = [sim(t, edit(t, 0.40, i, cjk), cjk) for i, t in enumerate(texts)]
        assert sum(s >= cfg.threshold for s in near) >= 0.95 * len(near), (lang, sorted(near)[:5])
        assert max(far) < cfg.threshold - 0.15, (lang, max(far))


def test_bands_rows_make_threshold_pairs_candidates():
    for t in (0.5, 0.6, 0.8, 0.9):
        b, r = bands_rows(DedupConfig(threshold=t))
        assert b * r <= 128 and candidate_probability(t, b, r) >= 0.98
        assert candidate_probability(0.2, b, r) < (0.3 if t < 0.6 else 0.1)
    assert bands_rows(DedupConfig(bands=10, rows=12)) == (10, 12)
    with pytest.raises(ValueError):
        bands_rows(DedupConfig(bands=20, rows=10))


def test_signatures_estimate_jaccard_and_are_stable():
    cfg = DedupConfig()
    a, b = MEDICAL["en"][0][2], edit(MEDICAL["en"][0][2], 0.1, 3, False)
    t = signature_table(docs(("a", a, "en"), ("b", b, "en")), cfg, CJK)
    s = t.column("sig").to_pylist()
    est = sum(x == y for x, y in zip(*s)) / cfg.num_perm
    assert abs(est - sim(a, b, False)) < 0.15
    assert signature_table(docs(("a", a, "en")), cfg, CJK).column("sig").to_pylist()[0] == s[0]


# ------------------------------------------------------------ distributed clustering on Ray
def test_near_duplicates_found_across_shards(tmp_path, ray_local):
    en, zh, ja = MEDICAL["en"][0][2], MEDICAL["zh"][0][2], MEDICAL["ja"][0][2]
    paras = MEDICAL["fr"][0][2].split(". ")
    fr = ". ".join(paras)
    reordered = ". ".join(paras[len(paras) // 2:] + paras[:len(paras) // 2])
    en2 = MEDICAL["en"][2][2]
    inserted = en2.replace(". ", ". Patients should always ask their doctor. ", 1)
    shards = [
        docs(("en", en, "en"), ("en-upper", en.upper().replace(".", ";"), "en"), ("fr", fr, "fr"), ("zh", zh, "zh")),
        docs(("en-edit", edit(en, 0.08, 1, False), "en"), ("en-rewrite", edit(en, 0.4, 2, False), "en"),
             ("fr-reordered", reordered, "fr"), ("en2-insert", inserted, "en"), ("en2", en2, "en")),
        docs(("zh-edit", edit(zh, 0.08, 3, True), "zh"), ("ja", ja, "ja"), ("ja-edit", edit(ja, 0.08, 4, True), "ja"),
             ("other", MEDICAL["en"][1][2], "en"), ("general", GENERAL["en"][0][2], "en")),
    ]
    dups, summary = run_dedup(tmp_path, shards, dataclasses.replace(DedupConfig(), partitions=3))
    assert {k: (v["cluster"], v["kind"]) for k, v in dups.items()} == {
        "en-upper": ("en", "exact"), "en-edit": ("en", "near"), "en2": ("en2-insert", "near"),
        "fr-reordered": ("fr", "near"), "zh-edit": ("zh", "near"), "ja-edit": ("ja", "near")}
    assert all(0.6 <= v["similarity"] <= 1 for v in dups.values())
    assert summary["kept"] == 14 - 6 and summary["duplicates"] == 6


def test_shared_boilerplate_is_not_a_duplicate(tmp_path, ray_local):
    """Different articles with the same site header and footer (half of each text) stay apart."""
    header = ("Health Library home page. Our clinicians review every article. This page is for general "
              "information only and does not replace the advice of your own doctor or pharmacist. ")
    footer = (" Call emergency services when symptoms are severe. Copyright the health library, all rights "
              "reserved. Subscribe to our newsletter for monthly updates on common conditions and treatments.")
    items = [(f"{lang}-{i}", header + text + footer, "en")
             for lang in ("en", "fr", "es") for i, (_, _, text) in enumerate(MEDICAL[lang])]
    for i, t, _ in items[:3]:
        assert sim(items[0][1], t, False) < 0.6 or i == items[0][0]
    dups, _ = run_dedup(tmp_path, [docs(*items[:5]), docs(*items[5:]), []])  # and an empty shard
    assert dups == {}


def test_chains_merge_transitively_with_deterministic_survivor(tmp_path, ray_local):
    """A sliding window over one text: neighbours are near-duplicates, far ends are not; connected
    components (several large/small-star rounds over 4 partitions) put all in one cluster."""
    rng = random.Random(5)
    words = [f"w{rng.randrange(10 ** 6)}" for _ in range(600)]
    items = [(f"doc{k:02d}", " ".join(words[k * 12: k * 12 + 200]), "en") for k in range(30)]
    items.append(("doc99", " ".join(words[100:300]) + " and more", "en"))  # longest: the survivor
    assert sim(items[0][1], items[1][1], False) > 0.6 > sim(items[0][1], items[5][1], False)
    rng.shuffle(items)
    cfg = dataclasses.replace(DedupConfig(), partitions=4)
    dups, summary = run_dedup(tmp_path, [docs(*items[i::3]) for i in range(3)], cfg)
    assert len(dups) == 30 and {v["cluster"] for v in dups.values()} == {"doc99"}
    assert summary["star_steps"] > 1
    # Other shard layout and order: identical decisions.
    dups2, _ = run_dedup(tmp_path, [docs(*reversed(items))], cfg, name="again")
    assert dups2 == dups


def test_survivor_is_longest_then_smallest_id(tmp_path, ray_local):
    text = MEDICAL["fr"][0][2]
    dups, _ = run_dedup(tmp_path, [docs(("z", text, "fr"), ("y", text, "fr")), docs(("x", text + " Fin.", "fr"))])
    assert {k: (v["cluster"], v["kind"]) for k, v in dups.items()} == {"y": ("x", "near"), "z": ("x", "near")}
    dups, _ = run_dedup(tmp_path, [docs(("z", text, "fr"), ("y", text, "fr"))], name="tie")
    assert dups == {"z": {"id": "z", "cluster": "y", "kind": "exact", "similarity": 1.0}}


def test_incremental_index(tmp_path, ray_local):
    index = tmp_path / "index"
    en0, en1, zh0 = MEDICAL["en"][0][2], MEDICAL["en"][1][2], MEDICAL["zh"][0][2]
    first = [docs(("a", en0, "en"), ("a-copy", edit(en0, 0.04, 1, False), "en"), ("b", en1, "en"))]
    dups, _ = run_dedup(tmp_path, first, index=index, batch="first", name="r1")
    assert set(dups) == {"a-copy"}
    idx = read_index(index)
    assert idx["batches"] == {"first": ["s0"]} and pq.read_metadata(index / "first" / "s0.sig.parquet").num_rows == 2
    # A new batch: a longer copy of an indexed document still loses to it; new documents are kept.
    second = [docs(("a-long", en0 + " More text here.", "en"), ("zh", zh0, "zh"), ("zh-copy", edit(zh0, 0.05, 2, True), "zh"))]
    for _ in range(2):  # a rerun of the same batch replaces it instead of matching itself
        dups, _ = run_dedup(tmp_path, second, index=index, batch="second", name="r2")
        assert {k: v["cluster"] for k, v in dups.items()} == {"a-long": "a", "zh-copy": "zh"}
    assert set(read_index(index)["batches"]) == {"first", "second"}
    third = [docs(("zh-again", zh0, "zh"))]
    dups, _ = run_dedup(tmp_path, third, index=index, batch="third", name="r3")
    assert dups["zh-again"]["cluster"] == "zh" and dups["zh-again"]["kind"] == "exact"
    with pytest.raises(DedupIndexError, match="same"):
        run_dedup(tmp_path, third, cfg=DedupConfig(ngram=3), index=index, batch="x", name="r4")


def test_dedup_jsonl_adds_fields_and_records_bad_lines(tmp_path, ray_local):
    from mmedc.dedup.jsonl import dedup_jsonl

    en, zh = MEDICAL["en"][0][2], MEDICAL["zh"][0][2]
    lines = [json.dumps({"id": "a", "text": en}), json.dumps({"id": "b", "text": edit(en, 0.05, 1, False)}),
             "{not json", json.dumps({"id": "c", "text": zh}), json.dumps({"id": "d", "title": "no text"}),
             json.dumps({"text": edit(zh, 0.05, 2, True)}), json.dumps({"id": "a", "text": "again"})]
    inp = tmp_path / "in.jsonl"
    inp.write_text("\n".join(lines) + "\n")
    s = dedup_jsonl(inp, tmp_path / "out.jsonl", DedupConfig(), shard_size=2, progress=False)
    out = [json.loads(x) for x in (tmp_path / "out.jsonl").read_text().splitlines()]
    assert len(out) == 7 and s["documents"] == 4 and s["errors"] == 3
    assert [(r.get("id"), r["duplicate"], r["cluster"]) for r in out] == [
        ("a", False, "a"), ("b", True, "a"), (None, False, None), ("c", False, "c"), ("d", False, None),
        (None, True, "c"), ("a", False, None)]
    assert "invalid_json" in out[2]["error"] and "no_text" in out[4]["error"] and "duplicate_id" in out[6]["error"]


def test_star_components_match_union_find(tmp_path):
    """The partitioned large-star / small-star steps give the same components as a union-find."""
    import numpy as np

    from mmedc.dedup.cluster import Plan, _write_edges, components, stage_labels

    rng = np.random.default_rng(7)
    nodes = np.array([(c << 32) | r for c in range(3) for r in range(150)], dtype=np.int64)
    u = rng.choice(nodes, 260)
    v = rng.choice(nodes, 260)
    chain = np.sort(rng.choice(nodes, 40, replace=False))[::-1]  # a long path, worst case for rounds
    u, v = np.concatenate([u, chain[:-1]]), np.concatenate([v, chain[1:]])
    u, v = u[u != v], v[u != v]
    plan = Plan(cfg=DedupConfig(), bands=32, rows=4, parts=3, work=str(tmp_path), shards=[])
    _write_edges(plan, np.concatenate([u, v]), np.concatenate([v, u]), plan.path("cc", 0, "s0.parquet"))
    step = components(plan, lambda fn, args, name: [fn(*a) for a in args])
    for p in range(plan.parts):
        stage_labels(plan, step, p)
    got = {}
    for p in range(plan.parts):
        t = pq.read_table(plan.path("labels", f"{p}.parquet"))
        got.update(zip(t.column("node").to_pylist(), t.column("comp").to_pylist()))
    parent = {}

    def find(x):
        while parent.setdefault(x, x) != x:
            x = parent[x]
        return x

    for a, b in zip(u.tolist(), v.tolist()):
        ra, rb = find(a), find(b)
        parent[max(ra, rb)] = min(ra, rb)
    assert got == {x: find(x) for x in set(u.tolist()) | set(v.tolist())}
    assert step > 2


def test_cli_help():
    import subprocess
    import sys

    out = subprocess.run([sys.executable, "-m", "mmedc.cli", "dedup", "--help"], capture_output=True, text=True)
    assert out.returncode == 0 and "--index" in out.stdout and "--threshold" in out.stdout
