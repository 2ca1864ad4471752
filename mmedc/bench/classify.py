"""Classify throughput (docs/s): the MMedC rule as a straightforward loop of `str.count` per keyword
(the baseline) next to the project's Aho-Corasick rule, the default `terms` classifier and language ID,
in the same run on the same documents. Uses ../shared/data/text/dev.jsonl.gz when present (real exam
questions, patient pages, clinical notes), else the project's sample texts repeated."""
from __future__ import annotations

import time

from mmedc.classify.keywords import is_long
from mmedc.classify.words import STRIP

LANGS = ["en", "zh", "ja", "fr", "ru", "es"]
PER_LANG = 3000


def naive_rule(text: str, pack) -> bool:
    """The paper's rule written the obvious way: one count per keyword per document."""
    low = text.lower()
    words = [w.strip(STRIP) for w in low.split()]
    joined = " " + " ".join(words) + " "
    unique, chars = 0, 0
    for kw in pack.keywords:
        if pack.cjk or is_long(kw):
            n = low.count(kw)
        elif " " in kw:
            n = joined.count(f" {kw} ")
        else:
            n = words.count(kw)
        if n:
            unique += 1
            chars += n * len(kw)
    return unique >= pack.min_unique and chars / max(len(text), 1) >= pack.min_density


def _docs() -> tuple[dict[str, list[str]], str]:
    import gzip
    import json

    from mmedc.paths import dev_data_dir

    d = dev_data_dir()
    f = d / "text" / "dev.jsonl.gz" if d else None
    if f and f.exists():
        out: dict[str, list[str]] = {c: [] for c in LANGS}
        with gzip.open(f, "rt", encoding="utf-8") as fh:
            for line in fh:
                r = json.loads(line)
                if r["lang"] in out and len(out[r["lang"]]) < PER_LANG:
                    out[r["lang"]].append(r["text"])
        return out, f"dev.jsonl.gz, up to {PER_LANG} records per language"
    from mmedc.sample.texts import GENERAL, MEDICAL

    out = {c: [t for _, _, t in MEDICAL[c] + GENERAL[c]] * 200 for c in LANGS}
    return out, "the project's sample texts, repeated"


def _rate(fn, docs_by_lang) -> float:
    n = sum(len(v) for v in docs_by_lang.values())
    # CPU time of this process: the machine is shared, and wall time would measure the neighbours.
    t0 = time.process_time()
    for lang, docs in docs_by_lang.items():
        fn(lang, docs)
    return n / (time.process_time() - t0)


def run():
    from rich.console import Console
    from rich.table import Table

    from mmedc.classify.langid import LanguageIdentifier
    from mmedc.classify.medical import MMedCRule, WeightedTerms
    from mmedc.classify.packs import load_pack

    docs, what = _docs()
    packs = {c: load_pack(c) for c in LANGS}
    rule, terms = MMedCRule(), WeightedTerms()
    lid = LanguageIdentifier(list(packs.values()))
    for c in LANGS:  # warm up: build automatons, load the model
        rule.score(docs[c][:5], packs[c]), terms.score(docs[c][:5], packs[c])
    lid.identify(docs["en"][:5])
    # Same decisions: the fast rule is the paper's rule.
    agree = all([s.medical for s in rule.score(docs[c], packs[c])] == [naive_rule(t, packs[c]) for t in docs[c]]
                for c in LANGS)
    rows = [
        ("mmedc rule, str.count per keyword (baseline)", _rate(lambda c, d: [naive_rule(t, packs[c]) for t in d], docs)),
        ("mmedc rule, Aho-Corasick (this project)", _rate(lambda c, d: rule.score(d, packs[c]), docs)),
        ("terms classifier (default), Aho-Corasick", _rate(lambda c, d: terms.score(d, packs[c]), docs)),
        ("language ID (lid.176 + script/mixed checks)", _rate(lambda c, d: lid.identify(d), docs)),
    ]
    n = sum(len(v) for v in docs.values())
    t = Table(title=f"classify throughput, one core (CPU time): {n} documents ({what})")
    t.add_column("implementation")
    t.add_column("docs/s", justify="right")
    t.add_column("vs baseline", justify="right")
    for name, rate in rows:
        t.add_row(name, f"{rate:,.0f}", f"{rate / rows[0][1]:.1f}×")
    Console(width=120).print(t)
    print(f"decisions of the Aho-Corasick rule == str.count rule on every document: {agree}")
    kws = sum(len(p.keywords) for p in packs.values()) // len(packs)
    terms_n = sum(len(p.terms) for p in packs.values()) // len(packs)
    print(f"average per pack: {kws} rule keywords, {terms_n} weighted terms")
