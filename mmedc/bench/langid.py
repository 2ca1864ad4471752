"""Language ID throughput next to raw fastText, on the same ~2 KB documents, in the same run.

Documents: ~2,000 characters of real general text per document, assembled from lingua's sentences of
the six MMedC languages (../shared/data/langid/lingua; the shape of a CulturaX document), else the
project's sample texts. Rows:
- raw fastText `predict` (lid.176, k=1) on each whole document, newlines made spaces: the baseline
  (datatrove's LanguageFilter does this, with k=-1);
- raw fastText on the first `PREFIX_CHARS` characters only: what reading a bounded prefix gives alone;
- mmedc LID: prefix, question/abbreviation clean-up, top-5 labels, script checks of every pack, the
  short- and mixed-document rules: `LanguageIdentifier.identify`.
Timing is CPU time of this process (the machine is shared), rounds interleaved, best round kept.
With the dev set present, it also prints LID accuracy on its texts of >= 40 characters and on
lingua's general sentences.
"""
from __future__ import annotations

import random
import time

LANGS = ["en", "zh", "ja", "fr", "ru", "es"]
PER_LANG = 300
DOC_CHARS = 2000
ROUNDS = 5


def _documents() -> tuple[list[str], list[str], str]:
    from mmedc.paths import dev_data_dir

    d = dev_data_dir()
    folder = d / "langid" / "lingua" / "language-testdata" / "sentences" if d else None
    if folder and all((folder / f"{c}.txt").exists() for c in LANGS):
        sents = {c: [x.strip() for x in (folder / f"{c}.txt").read_text(encoding="utf-8").splitlines() if x.strip()]
                 for c in LANGS}
        what = f"lingua sentences joined into ~{DOC_CHARS}-character documents"
    else:
        from mmedc.sample.texts import GENERAL, MEDICAL

        sents = {c: [t for _, _, t in MEDICAL[c] + GENERAL[c]] for c in LANGS}
        what = f"the project's sample texts joined into ~{DOC_CHARS}-character documents"
    rng = random.Random(0)
    docs, gold = [], []
    for c in LANGS:
        for _ in range(PER_LANG):
            parts, n = [], 0
            while n < DOC_CHARS:
                s = rng.choice(sents[c])
                parts.append(s)
                n += len(s) + 1
            docs.append("\n".join(parts)[:DOC_CHARS + 200])
            gold.append(c)
    return docs, gold, what


def _dev_accuracy() -> str | None:
    import gzip
    import json

    from mmedc.classify.langid import LanguageIdentifier
    from mmedc.classify.packs import available_packs, load_pack
    from mmedc.paths import dev_data_dir

    d = dev_data_dir()
    f = d / "text" / "dev.jsonl.gz" if d else None
    if not (f and f.exists()):
        return None
    with gzip.open(f, "rt", encoding="utf-8") as fh:
        recs = [r for r in map(json.loads, fh) if len(r["text"]) >= 40]
    packs = available_packs()
    lid = LanguageIdentifier([load_pack(c) for c in packs])
    res = lid.identify([r["text"] for r in recs])
    ok = sum(x.accepted and x.lang == r["lang"] for r, x in zip(recs, res))
    out = f"LID accuracy on dev.jsonl.gz texts of >= 40 characters (all packs): {ok / len(recs):.4f} ({ok}/{len(recs)})"
    folder = d / "langid" / "lingua" / "language-testdata" / "sentences"
    n = good = 0
    for code in packs:  # general sentences (news, web) of every pack language
        f = folder / f"{code}.txt"
        if f.exists():
            sents = [x.strip() for x in f.read_text(encoding="utf-8").splitlines() if x.strip()][:1000]
            good += sum(x.accepted and x.lang == code for x in lid.identify(sents))
            n += len(sents)
    if n:
        out += f"\nLID accuracy on lingua's general sentences of the {len(packs)} pack languages: {good / n:.4f} ({good}/{n})"
    return out


def run():
    from rich.console import Console
    from rich.table import Table

    from mmedc.classify.langid import LanguageIdentifier, load_model
    from mmedc.classify.lidtext import PREFIX_CHARS
    from mmedc.classify.packs import available_packs, load_pack

    docs, gold, what = _documents()
    model = load_model()
    lid = LanguageIdentifier([load_pack(c) for c in available_packs()])
    lid.identify(docs[:20])  # warm up: script table, model

    def raw_whole():
        return model.predict([d.replace("\n", " ") for d in docs], k=1)

    def raw_prefix():
        return model.predict([d[:PREFIX_CHARS].replace("\n", " ") for d in docs], k=1)

    def mmedc_lid():
        return lid.identify(docs)

    fns = {"raw fastText predict, whole document (baseline)": raw_whole,
           f"raw fastText predict, first {PREFIX_CHARS} characters": raw_prefix,
           "mmedc LID (prefix, clean-up, script checks, all packs)": mmedc_lid}
    best = {k: float("inf") for k in fns}
    for _ in range(ROUNDS):  # interleaved, so a busy neighbour slows every row alike
        for name, fn in fns.items():
            t0 = time.process_time()
            fn()
            best[name] = min(best[name], time.process_time() - t0)
    raw_ok = sum(lab[0].removeprefix("__label__") == g for lab, g in zip(raw_whole()[0], gold))
    mm_ok = sum(r.accepted and r.lang == g for r, g in zip(mmedc_lid(), gold))
    base = len(docs) / best[next(iter(fns))]
    t = Table(title=f"language ID, one core (CPU time, best of {ROUNDS}): {len(docs)} documents ({what})")
    for col in ("implementation", "docs/s", "vs raw fastText"):
        t.add_column(col, justify="right" if col != "implementation" else "left")
    for name, secs in best.items():
        rate = len(docs) / secs
        t.add_row(name, f"{rate:,.0f}", f"{rate / base:.2f}×")
    Console(width=120).print(t)
    print(f"correct language: raw fastText top-1 {raw_ok}/{len(docs)}, mmedc LID accepted as the right "
          f"pack {mm_ok}/{len(docs)}")
    acc = _dev_accuracy()
    if acc:
        print(acc)
