"""Docs/s of the cleaning steps (quality, pii, decontam), each next to a baseline measured in the same run.

quality   mmedc (every rule scored, script-aware)  vs  datatrove Gopher quality + Gopher repetition +
          FineWeb filters (stop at the first failing rule; a whitespace word tokenizer, spaCy is not installed)
pii       mmedc (libphonenumber on candidate windows only)  vs  libphonenumber's matcher over the whole text
decontam  mmedc (numpy-sorted 64-bit n-gram hashes)  vs  a Python set of n-gram strings
Documents: the project's cleaning examples in eight languages (mmedc.clean.examples), repeated.
"""
from __future__ import annotations

import random
import tempfile
import time
from pathlib import Path

N_DOCS = 1600


def _docs() -> list[dict]:
    from mmedc.clean.examples import PII_DOCS, PROSE, boilerplate_page, spam_page

    base = []
    for lang in PROSE:
        base += [(lang, PROSE[lang]), (lang, boilerplate_page(lang)), (lang, spam_page(lang)),
                 (lang, PROSE[lang] + "\n" + PII_DOCS[lang])]
    rng = random.Random(0)
    return [{"id": str(i), "source": "bench", "lang": lang, "text": text}
            for i, (lang, text) in enumerate(rng.choice(base) for _ in range(N_DOCS))]


def _rate(fn, items) -> float:
    t0 = time.perf_counter()
    for x in items:
        fn(x)
    return len(items) / (time.perf_counter() - t0)


def _benchmark_items(n: int) -> list[dict]:
    """Synthetic MMedBench-layout questions from a small medical vocabulary (project-written)."""
    rng = random.Random(1)
    ages = range(18, 90)
    signs = ["fever", "cough", "chest pain", "dyspnea", "jaundice", "hematuria", "syncope", "weight loss", "rash",
             "headache", "vomiting", "edema", "palpitations", "fatigue", "abdominal pain", "night sweats"]
    places = ["the emergency department", "the clinic", "his physician", "her physician", "the ward"]
    return [{"id": f"q{i}", "question": f"A {rng.choice(ages)}-year-old patient presents to {rng.choice(places)} with "
             f"{rng.choice(signs)}, {rng.choice(signs)} and {rng.choice(signs)} for {rng.randint(2, 30)} days; "
             f"laboratory value {rng.randint(1, 999)} is abnormal. Which of the following is the most likely diagnosis?",
             "answer": "A"} for i in range(n)]


def run():
    import json

    from datatrove.data import Document
    from datatrove.pipeline.filters import FineWebQualityFilter, GopherQualityFilter, GopherRepetitionFilter
    from datatrove.utils.word_tokenizers import WordTokenizer

    from mmedc.clean import decontam as dc
    from mmedc.clean import pii
    from mmedc.clean.steps import pii_rules, quality_outcome

    docs = _docs()
    rows = []

    # quality
    class Whitespace(WordTokenizer):
        def word_tokenize(self, text):
            return text.split()

        def sent_tokenize(self, text):
            return text.split(". ")

        def span_tokenize(self, text):
            raise NotImplementedError

    ws = Whitespace("en")
    dt = [GopherQualityFilter(language=ws), GopherRepetitionFilter(language=ws), FineWebQualityFilter(language=ws)]

    def dt_quality(d):
        doc = Document(text=d["text"], id=d["id"])
        for f in dt:
            if f.filter(doc) is not True:
                return False
        return True

    ours = _rate(lambda d: quality_outcome(d["text"], d["lang"]), docs)
    base = _rate(dt_quality, docs)
    rows.append(("quality", ours, "datatrove Gopher+repetition+FineWeb, first failure", base))
    # Documents that pass: datatrove computes every rule too (junk above is where its early exit wins).
    prose = [d for d in docs if quality_outcome(d["text"], d["lang"]).decision == "kept"]
    ours = _rate(lambda d: quality_outcome(d["text"], d["lang"]), prose)
    base = _rate(dt_quality, prose)
    rows.append(("quality*", ours, "the same, on the documents that pass", base))

    # pii
    for d in docs[:8]:
        pii_rules(d["lang"])  # load packs and phone metadata outside the timing
    ours = _rate(lambda d: pii.scrub(d["text"], pii_rules(d["lang"])), docs)
    import phonenumbers as pn

    def whole_text(d):
        for region in pii_rules(d["lang"]).phone_regions:
            list(pn.PhoneNumberMatcher(d["text"], region, leniency=pn.Leniency.VALID))

    sub = docs[: len(docs) // 4]
    base = _rate(whole_text, sub)
    rows.append(("pii", ours, "phonenumbers matcher on whole texts (phones only)", base))

    # decontam
    with tempfile.TemporaryDirectory() as tmp:
        items = _benchmark_items(5000)
        f = Path(tmp) / "bench.jsonl"
        f.write_text("".join(json.dumps(x) + "\n" for x in items))
        t0 = time.perf_counter()
        meta = dc.build_index([f], Path(tmp) / "idx")
        build_s = time.perf_counter() - t0
        index = dc.DecontamIndex(Path(tmp) / "idx")
        leak = docs[:]
        for i in range(0, len(leak), 50):  # 2% contaminated
            leak[i] = dict(leak[i], text=leak[i]["text"] + "\n" + items[i]["question"])
        found = sum(1 for d in leak if (m := index.check(d["text"])) and m.coverage >= 0.5)
        ours = _rate(lambda d: index.check(d["text"]), leak)
        # Baseline: n-gram strings in a Python set (the simplest index), same tokens, any hit counts.
        grams = set()
        for x in items:
            t = dc.tokens(x["question"])
            grams.update(" ".join(t[i:i + 8]) for i in range(len(t) - 7))

        def naive(d):
            t = dc.tokens(d["text"])
            return any(" ".join(t[i:i + 8]) in grams for i in range(len(t) - 7))

        base = _rate(naive, leak)
        rows.append(("decontam", ours, "Python set of 8-gram strings", base))

    print(f"{len(docs)} documents (8 languages: prose, boilerplate, spam, PII), {N_DOCS // 4 / len(docs):.0%} "
          f"of them for the slow pii baseline")
    print(f"{'step':<10}{'mmedc docs/s':>14}   {'baseline':<52}{'docs/s':>9}")
    for step, o, name, b in rows:
        print(f"{step:<10}{o:>14,.0f}   {name:<52}{b:>9,.0f}")
    print(f"quality*: the {len(prose)} documents that pass every rule")
    print(f"decontam index: {meta['segments']} questions, {meta['ngrams']:,} n-grams, built in {build_s:.1f}s, "
          f"{meta['common_ngrams_dropped']:,} stock-phrase n-grams left out; leaked questions found: "
          f"{found} of {len(range(0, len(leak), 50))}")
