"""Do word segmentation (zh: jieba, ja: fugashi + unidic-lite) or lemmas (ru: pymorphy3) help the
`terms` classifier? Prints, per language, leave-one-source-out F1 of the shipped matching (substrings
for CJK, stems for Russian) next to the variant, and the variant's speed next to the classifier's on
~2 KB documents, in the same run. Needs the dev set (../shared/data) and `pip install .[segment]`;
skips with a message otherwise.
"""
from __future__ import annotations

import random
import re
import time

import numpy as np

DOCS = 200
DOC_CHARS = 2000


def _segmenter(lang: str):
    """A function text -> [(start, end)] of words (zh, ja) or text -> lemma text (ru)."""
    if lang == "zh":
        import jieba

        jieba.setLogLevel(60)
        jieba.initialize()
        return lambda t: [(s, e) for _, s, e in jieba.tokenize(t)]
    if lang == "ja":
        import fugashi

        tagger = fugashi.Tagger()

        def spans(t):
            out, pos = [], 0
            for w in tagger(t):
                i = t.find(w.surface, pos)
                if i >= 0:
                    out.append((i, i + len(w.surface)))
                    pos = i + len(w.surface)
            return out
        return spans
    import pymorphy3

    morph = pymorphy3.MorphAnalyzer()
    return lambda t: " ".join(morph.parse(w)[0].normal_form for w in re.findall(r"\w+", t.lower()))


def _variant_features(lang: str):
    """features(name, texts, pack) for the variant: terms only at word boundaries (zh, ja), or found on
    the text or on its lemmas (ru)."""
    from mmedc.classify.medical import WeightedTerms, _term_matcher
    from mmedc.classify.words import count_words

    seg = _segmenter(lang)

    def features(name, texts, pack):
        m = _term_matcher(pack)
        ev, words = [], []
        for t in texts:
            if lang == "ru":
                a, b = m.match(t)[0], m.match(seg(t))[0]
                counts = {i: max(a.get(i, 0), b.get(i, 0)) for i in set(a) | set(b)}
                n = count_words(t, pack.word_split)
            else:
                spans = seg(t)
                starts, ends = {s for s, _ in spans}, {e for _, e in spans}
                hits = sorted((s, s - e, e - 1, m.cands[k][0][0]) for k, s, e in m.raw_hits(t.lower())
                              if s in starts and e in ends)
                counts, last = {}, -1
                for s, _, e, i in hits:  # leftmost-longest, as the shipped matcher
                    if s > last:
                        counts[i] = counts.get(i, 0) + 1
                        last = e
                n = sum(1 for s, e in spans if not t[s:e].isspace())
            ev.append(WeightedTerms.evidence(counts, m.weights))
            words.append(n)
        return np.array(ev, dtype=float), np.array(words, dtype=float)
    return features


def run():
    import gzip
    import json

    from mmedc.classify.bysource import evaluate_by_source
    from mmedc.classify.medical import get_classifier
    from mmedc.classify.packs import load_pack
    from mmedc.classify.records import lingua_negatives
    from mmedc.paths import dev_data_dir

    d = dev_data_dir()
    if not d or not (d / "text" / "dev.jsonl.gz").exists():
        print("no dev data (../shared/data or MMEDC_DEV_DATA): skipped")
        return
    try:
        import fugashi  # noqa: F401
        import jieba  # noqa: F401
        import pymorphy3  # noqa: F401
    except ImportError as e:
        print(f"{e.name} not installed (pip install .[segment]): skipped")
        return
    with gzip.open(d / "text" / "dev.jsonl.gz", "rt", encoding="utf-8") as f:
        recs = [json.loads(line) for line in f]
    sentences = d / "langid" / "lingua" / "language-testdata" / "sentences"
    rng = random.Random(0)
    clf = get_classifier("terms")
    print(f"{'lang':4} {'variant':44} {'LOSO F1 shipped → variant':>26} {'docs/s: classifier vs variant':>30}")
    for lang, what in (("zh", "terms at jieba word boundaries"), ("ja", "terms at fugashi word boundaries"),
                       ("ru", "terms on pymorphy3 lemmas too")):
        rs = [r for r in recs if r["lang"] == lang]
        if not any(r["label"] == "non_medical" for r in rs):
            rs += lingua_negatives(sentences, [lang], 1000)
        base = evaluate_by_source(rs, [lang], ["terms"])[lang].loso["terms"].f1
        var_features = _variant_features(lang)
        var = evaluate_by_source(rs, [lang], ["terms"], features=var_features)[lang].loso["terms"].f1
        sents = [x for x in (sentences / f"{lang}.txt").read_text(encoding="utf-8").splitlines() if x.strip()]
        docs = []
        for _ in range(DOCS):
            parts, n = [], 0
            while n < DOC_CHARS:
                parts.append(rng.choice(sents))
                n += len(parts[-1]) + 1
            docs.append("\n".join(parts))
        pack = load_pack(lang)
        t0 = time.process_time()
        clf.score(docs, pack)
        t1 = time.process_time()
        var_features("terms", docs, pack)
        t2 = time.process_time()
        print(f"{lang:4} {what:44} {base:>12.3f} → {var:.3f} {DOCS / (t1 - t0):>14,.0f} vs {DOCS / (t2 - t1):,.0f}")
