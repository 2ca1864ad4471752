"""The all-packs medical scan (one automaton for every pack) scores exactly as each pack's own matcher."""
from __future__ import annotations

from mmedc.classify.allpacks import AllPacksScan, best_pack_scores
from mmedc.classify.medical import get_classifier
from mmedc.classify.packs import load_pack
from mmedc.sample.build import all_docs

CODES = ["en", "zh", "ja", "fr", "ru", "es"]


def test_one_automaton_counts_like_each_pack():
    packs = [load_pack(c) for c in CODES]
    scan = AllPacksScan(packs)
    terms = get_classifier("terms")
    texts = [d["text"] for d in all_docs()] + ["", "Pneumonia. 肺炎。", "x" * 50]
    for t in texts:
        per_pack, _ = scan.counts(t)
        for pack, counts in zip(packs, per_pack):
            assert counts == scan.matchers[packs.index(pack)].match(t)[0], (pack.code, t[:40])
    best = scan.score(texts)
    for t, (s, pack) in zip(texts, best):
        each = [(terms.score([t], p)[0], p) for p in packs]
        top = max(each, key=lambda x: (x[0].medical, x[0].score))
        assert (s.medical, s.score, pack.code) == (top[0].medical, top[0].score, top[1].code)


def test_the_scan_keeps_to_the_packs_the_script_allows():
    from mmedc.classify.allpacks import script_candidates

    packs = [load_pack(c) for c in CODES]
    assert [p.code for p in script_candidates("Le patient présente une pneumonie sévère.", packs)] == ["en", "fr", "es"]
    assert [p.code for p in script_candidates("Больной жалуется на кашель и температуру.", packs)] == ["ru"]
    assert "ja" in [p.code for p in script_candidates("患者は発熱と咳を訴えている。", packs)]
    assert len(script_candidates("12345 ... !!!", packs)) == len(packs)  # no letters: every pack
    texts = [d["text"] for d in all_docs()]
    terms = get_classifier("terms")
    for t, (s, pack) in zip(texts, best_pack_scores("terms", texts, packs)):
        allowed = script_candidates(t, packs)
        top = max(((terms.score([t], p)[0], p) for p in allowed), key=lambda x: (x[0].medical, x[0].score))
        assert (s.score, pack.code) == (top[0].score, top[1].code)


def test_medical_documents_found_in_their_own_language():
    docs = [d for d in all_docs() if d["label"] == "medical"]
    got = best_pack_scores("terms", [d["text"] for d in docs], [load_pack(c) for c in CODES])
    assert sum(s.medical for s, _ in got) >= 0.9 * len(docs)
    assert sum(p.code == d["lang"] for d, (s, p) in zip(docs, got) if s.medical) >= 0.9 * sum(s.medical for s, _ in got)
    rule = best_pack_scores("mmedc", [d["text"] for d in docs[:5]], [load_pack(c) for c in CODES])
    assert len(rule) == 5
