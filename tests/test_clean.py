"""Cleaning: quality rules per script, PII scrubbing without touching medical numbers, decontamination."""
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from mmedc.audit import AuditLog
from mmedc.classify.packs import PackError, available_packs, load_pack, load_pack_file
from mmedc.clean import decontam as dc
from mmedc.clean import pii, quality
from mmedc.clean.examples import BENCHMARK, MEDICAL_NUMBERS, PII_DOCS, PROSE, boilerplate_page, spam_page
from mmedc.clean.steps import DecontamStep, PiiStep, QualityStep, decontam_outcome, quality_outcome
from mmedc.engine.chain import run_chain

LANGS = ["en", "zh", "ja", "fr", "ru", "es", "de", "ar"]


def rules(lang):
    """The pack's rules; generic ones when a pack is not there (yet)."""
    try:
        pack = load_pack(lang)
    except PackError:
        return quality.QualityRules(), False, pii.PiiRules()
    return quality.rules_for_pack(pack), pack.cjk, pii.rules_for_pack(pack)


def failed(text, lang):
    r, cjk, _ = rules(lang)
    return [f[0] for f in quality.assess(text, r, cjk)[1]]


# ---------------------------------------------------------------- quality


@pytest.mark.parametrize("lang", LANGS)
def test_clean_medical_prose_is_kept(lang):
    assert failed(PROSE[lang], lang) == []


@pytest.mark.parametrize("lang", LANGS)
def test_boilerplate_page_is_dropped(lang):
    f = failed(boilerplate_page(lang), lang)
    # Navigation + banners + footer: short lines, repeated lines and policy phrases.
    assert "max_short_lines" in f and "max_dup_line_frac" in f
    if rules(lang)[0].boilerplate:  # the pack's phrases (cookie banners, footers) in its language
        assert "max_boilerplate_lines" in f


@pytest.mark.parametrize("lang", LANGS)
def test_repetitive_spam_is_dropped(lang):
    f = failed(spam_page(lang), lang)
    assert any(x.startswith(("dup_", "top_")) for x in f) and "max_dup_line_frac" in f


def test_cjk_packs_count_characters_not_words():
    r, cjk, _ = rules("zh")
    assert cjk
    s, _ = quality.assess(PROSE["zh"], r, cjk)
    # Whitespace words would make the Chinese paragraph 1-5 "words" long; characters count ~200.
    assert s["q_words"] > 150 and len(PROSE["zh"].split()) < 5
    # A short CJK notice fails on length in characters.
    assert "min_words" in failed("糖尿病是一种慢性疾病。", "zh")


def test_prose_mentioning_cookies_is_not_boilerplate():
    text = PROSE["en"] + " Patients sometimes ask whether a cookie or a privacy policy affects their care."
    assert failed(text, "en") == []


def test_ngram_measures_equal_datatrove():
    from datatrove.pipeline.filters.gopher_repetition_filter import find_all_duplicate, find_top_duplicate, get_n_grams

    texts = [PROSE[x] for x in LANGS] + [spam_page(x) for x in LANGS] + [boilerplate_page(x) for x in LANGS]
    for text in texts:
        for cjk in (False, True):
            words = quality.units(text, cjk)
            g = quality.NGrams(words)
            for n in [2, 3, 4, 5, 8, 10, 20, 3, 1000]:  # also back down and past the end
                grams = get_n_grams(words, n)
                assert g.top_duplicate_chars(n) == (find_top_duplicate(grams) if grams else 0)
                assert g.all_duplicate_chars(n) == find_all_duplicate(words, n)


def test_unknown_quality_key_is_an_error():
    with pytest.raises(quality.QualityConfigError, match="min_wrods"):
        quality.QualityRules.from_table({"min_wrods": 3}, False)


def test_pack_thresholds_override_defaults(tmp_path):
    p = tmp_path / "xx.toml"
    p.write_text('code = "xx"\n[medical]\nkeywords = ["a"]\n[quality]\nmin_words = 500\nstop_words = ["the"]\n')
    r = quality.rules_for_pack(load_pack_file(p))
    assert r.min_words == 500 and r.stop_words == ["the"] and r.max_dup_line_frac == 0.3
    assert "min_words" in [f[0] for f in quality.assess(PROSE["en"], r, False)[1]]


# ---------------------------------------------------------------- PII


@pytest.mark.parametrize("lang", LANGS)
def test_pii_replaced_and_medical_numbers_untouched(lang):
    _, _, prules = rules(lang)
    text, counts = pii.scrub(PII_DOCS[lang], prules)
    assert counts.get("email") == 1 and not re.search(r"\w@\w", text) and "<EMAIL>" in text
    if prules.phone_regions:
        assert counts.get("phone") == 1 and "<PHONE>" in text
    for number in MEDICAL_NUMBERS[lang]:
        assert number in text, number


def test_pii_types_en():
    _, _, prules = rules("en")
    text, counts = pii.scrub(PII_DOCS["en"], prules)
    assert counts == {"email": 1, "phone": 1, "national_id": 1, "insurance_id": 1, "ip": 1, "credentials": 1}
    assert "ftp://<CREDENTIALS>@records.stmarys-clinic.org/export" in text
    assert "536-22-8187" not in text and "192.168.10.24" not in text and "Secr3t" not in text


def test_national_ids_of_packs():
    for lang, raw, kind in [("zh", "11010519491231002X", "national_id"), ("fr", "2 84 05 75 112 233 43", "insurance_id"),
                            ("es", "12345678Z", "national_id"), ("ru", "112-233-445 95", "insurance_id")]:
        _, _, prules = rules(lang)
        text, counts = pii.scrub(PII_DOCS[lang], prules)
        assert raw not in text and counts.get(kind) == 1, lang


def test_checksums_keep_lookalike_numbers():
    _, _, prules = rules("zh")
    # 18 digits with a wrong check digit: a lab accession number, not an ID card.
    text, counts = pii.scrub("标本编号 110105194912310021，结果正常。", prules)
    assert counts == {} and "110105194912310021" in text


@pytest.mark.parametrize("lang", LANGS)
def test_medical_numbers_alone_are_not_pii(lang):
    _, _, prules = rules(lang)
    text = ("Metformin 500 mg twice daily; BP 120/80 mmHg; HbA1c 7.2%; ICD-10 E11.9, J45.909, I10; glucose 126 mg/dL; "
            "eGFR 45 mL/min/1.73 m2; visit 2024-03-15, 15.03.2024, 03/15/2024; PMID 12345678; NCT01234567; "
            "ISBN 978-3-16-148410-0; 10000 IU vitamin D; platelets 250 x 10^9/L; version 2.1; 37.5 °C; "
            "weight 70.5 kg, height 175 cm; dose 0.5-1.0 mg/kg every 6-8 h; QTc 440 ms; 12:30:45.")
    out, counts = pii.scrub(text, prules)
    assert counts == {} and out == text


def test_pii_step_changes_text_in_place_and_counts_in_audit():
    docs = [{"id": "a", "source": "s", "lang": "en", "text": PII_DOCS["en"]},
            {"id": "b", "source": "s", "lang": "en", "text": PROSE["en"]}]
    audit = AuditLog("shard")
    kept = run_chain([PiiStep(_recipe())], docs, audit)
    assert len(kept) == 2 and "<EMAIL>" in kept[0]["text"] and kept[1]["text"] == PROSE["en"]
    rows = audit.rows["pii"]
    assert [r["pii"] for r in rows] == [6, 0]
    assert json.loads(rows[0]["detail"])["pii_email"] == 1


# ---------------------------------------------------------------- decontamination


@pytest.fixture(scope="module")
def bench_index(tmp_path_factory):
    d = tmp_path_factory.mktemp("bench")
    f = d / "mmedbench.jsonl"
    f.write_text("".join(json.dumps(b, ensure_ascii=False) + "\n" for b in BENCHMARK) + "{broken\n")
    meta = dc.build_index([f], d / "index")
    assert meta["segments"] == len(BENCHMARK) + 1 and meta["n_errors"] == 1  # + one rationale
    return dc.DecontamIndex(d / "index")


def reformat(text):
    """Light reformatting: case, punctuation and whitespace changed."""
    text = re.sub(r"[,.?;:!，。？、]", " ", text.upper())
    return re.sub(r"\s+", "  \n ", text)


def test_document_with_benchmark_question_is_dropped(bench_index):
    q = BENCHMARK[0]["question"]
    doc = PROSE["en"] + "\n\nQuiz of the week: " + q + " A) Small cell carcinoma B) Squamous cell carcinoma"
    o = decontam_outcome(bench_index, doc, 0.5)
    assert o.decision == "dropped" and o.scores["decontam_item"] == "mmedbench.jsonl:en-1"
    assert "mmedbench.jsonl:en-1 question" in o.reason
    o = decontam_outcome(bench_index, PROSE["en"] + " " + reformat(q), 0.5)
    assert o.decision == "dropped" and o.scores["decontam_item"] == "mmedbench.jsonl:en-1"


@pytest.mark.parametrize("item", [2, 3])  # Chinese (characters) and French (words, accents)
def test_reformatted_question_other_scripts_dropped(bench_index, item):
    b = BENCHMARK[item]
    q = b["question"].replace("，", ", ").replace("？", "?")
    q = q.replace("é", "e").replace("ï", "i")  # accents dropped as well
    o = decontam_outcome(bench_index, PROSE["zh"] + reformat(q), 0.5)
    assert o.decision == "dropped" and o.scores["decontam_item"] == f"mmedbench.jsonl:{b['id']}"


def test_rationale_leak_is_dropped(bench_index):
    o = decontam_outcome(bench_index, "Explanation: " + BENCHMARK[0]["rationale"], 0.5)
    assert o.decision == "dropped" and o.scores["decontam_field"] == "rationale"


def test_shared_common_phrases_are_kept(bench_index):
    doc = ("A 24-year-old student presents to the emergency department with fever after a trip. Which of the "
           "following is the most likely diagnosis is a question doctors ask themselves every day. " + PROSE["en"])
    o = decontam_outcome(bench_index, doc, 0.5)
    assert o.decision == "kept" and 0 < o.scores["decontam_coverage"] < 0.5


def test_stock_phrases_are_not_indexed(tmp_path):
    f = tmp_path / "b.jsonl"
    items = [{"id": i, "question": f"Patient number {w} has symptoms. Which of the following is the most likely diagnosis?"}
             for i, w in enumerate(["one", "two", "three"])]
    f.write_text("".join(json.dumps(x) + "\n" for x in items))
    meta = dc.build_index([f], tmp_path / "idx", ngram=5, max_items_per_ngram=2)
    assert meta["common_ngrams_dropped"] > 0
    idx = dc.DecontamIndex(tmp_path / "idx")
    assert idx.check("Which of the following is the most likely diagnosis? Think about it.") is None


def test_plain_text_benchmark_and_bad_index(tmp_path):
    f = tmp_path / "t.jsonl"
    f.write_text(json.dumps({"id": "t1", "text": PROSE["de"]}) + "\n")
    dc.build_index([f], tmp_path / "idx")
    assert dc.DecontamIndex(tmp_path / "idx").check("Vorwort. " + PROSE["de"]).item == "t.jsonl:t1"
    with pytest.raises(dc.DecontamError, match="decontam index"):
        dc.DecontamIndex(tmp_path)


# ---------------------------------------------------------------- steps, audit, recipe, CLI


def _recipe(index=""):
    from mmedc.config import DecontamConfig, PiiConfig, QualityConfig

    class R:
        base_dir = Path("/")
        quality, pii = QualityConfig(), PiiConfig()
        decontam = DecontamConfig(index=index)
    return R()


def test_chain_of_cleaning_steps_writes_scores(bench_index):
    docs = [{"id": f"{lang}-prose", "source": "s", "lang": lang, "text": PROSE[lang]} for lang in LANGS]
    docs += [{"id": "en-boiler", "source": "s", "lang": "en", "text": boilerplate_page("en")},
             {"id": "en-leak", "source": "s", "lang": "en", "text": PROSE["en"] + " " + BENCHMARK[1]["question"]}]
    audit = AuditLog("shard")
    steps = [QualityStep(_recipe()), PiiStep(_recipe()), DecontamStep(_recipe(str(bench_index.path)))]
    kept = run_chain(steps, docs, audit)
    # A language without a pack is a failed row (step_error), never a silent pass.
    assert [d["id"] for d in kept] == [f"{lang}-prose" for lang in LANGS if lang in available_packs()]
    q = {r["id"]: r for r in audit.rows["quality"]}
    assert q["en-boiler"]["decision"] == "dropped" and q["en-boiler"]["reason"].startswith("quality_")
    assert json.loads(q["en-prose"]["detail"])["q_words"] > 100  # scores kept for kept documents too
    assert len(audit.rows["pii"]) == len(kept) + 1  # the leak passed quality too
    d = {r["id"]: r for r in audit.rows["decontam"]}
    assert d["en-leak"]["decision"] == "dropped" and "en-2" in d["en-leak"]["reason"]
    assert json.loads(d["en-leak"]["detail"])["decontam_item"] == "mmedbench.jsonl:en-2"


def test_recipe_sections(tmp_path):
    from mmedc.config import RecipeError, load_recipe

    (tmp_path / "a.jsonl").write_text("")
    head = '[pipeline]\nlanguages=["en"]\n[[sources]]\nname="a"\nkind="jsonl"\npaths=["a.jsonl"]\n'
    p = tmp_path / "r.toml"
    p.write_text(head + '[quality]\nenabled=false\n[decontam]\nmin_coverage=0.7\n')
    r = load_recipe(p)
    assert r.quality.enabled is False and r.decontam.min_coverage == 0.7 and r.pii.enabled
    p.write_text(head + '[decontam]\nindex="missing"\n')
    with pytest.raises(RecipeError, match="decontam index"):
        load_recipe(p)
    p.write_text(head + '[pii]\nenable=true\n')
    with pytest.raises(RecipeError, match="unknown key"):
        load_recipe(p)


def test_recipe_index_path_is_relative_to_recipe(tmp_path):
    from mmedc.config import load_recipe

    bench = tmp_path / "bench.jsonl"
    bench.write_text("".join(json.dumps(b, ensure_ascii=False) + "\n" for b in BENCHMARK))
    dc.build_index([bench], tmp_path / "bench-index")
    (tmp_path / "a.jsonl").write_text("")
    p = tmp_path / "r.toml"
    p.write_text('[pipeline]\nlanguages=["en"]\n[[sources]]\nname="a"\nkind="jsonl"\npaths=["a.jsonl"]\n'
                 '[decontam]\nindex="bench-index"\nmin_coverage=0.6\n')
    step = DecontamStep(load_recipe(p))
    docs = [{"id": "x", "text": PROSE["fr"] + " " + BENCHMARK[3]["question"]}, {"id": "y", "text": PROSE["fr"]}]
    assert [o.decision for o in step.process(docs)] == ["dropped", "kept"]


def test_sample_run_has_cleaning_audit(sample_run):
    import polars as pl

    a = pl.read_parquet(str(sample_run / "audit" / "**" / "*.parquet"))
    med = set(a.filter(step="medical", decision="kept")["id"])
    for step in ("quality", "pii", "decontam"):
        assert a.filter(step=step).height > 0
    q = a.filter(step="quality")
    assert set(q["id"]) == med
    # The sample's medical documents are clean prose: all kept, each with its rule scores.
    assert q.filter(decision="kept").height == len(med)
    assert all("q_dup_line_frac" in json.loads(x) for x in q["detail"])
    assert a.filter(step="pii")["pii"].null_count() == 0


def test_cli_clean_and_index(tmp_path):
    bench = tmp_path / "bench.jsonl"
    bench.write_text("".join(json.dumps(b, ensure_ascii=False) + "\n" for b in BENCHMARK))
    mmedc = [sys.executable, "-m", "mmedc.cli"]
    r = subprocess.run(mmedc + ["decontam", "index", str(bench), "--out", str(tmp_path / "idx")],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    src = tmp_path / "in.jsonl"
    recs = [{"id": "ok", "text": PROSE["fr"], "lang": "fr", "extra": 1},
            {"id": "pii", "text": PII_DOCS["es"], "lang": "es"},
            {"id": "boiler", "text": boilerplate_page("ru"), "lang": "ru"},
            {"id": "leak", "text": PROSE["fr"] + "\n" + reformat(BENCHMARK[3]["question"]), "lang": "fr"},
            {"id": "notext", "lang": "en"}]
    src.write_text("".join(json.dumps(x, ensure_ascii=False) + "\n" for x in recs) + "{oops\n")
    out = tmp_path / "out.jsonl"
    r = subprocess.run(mmedc + ["clean", str(src), "-o", str(out), "--decontam", str(tmp_path / "idx")],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    got = [json.loads(x) for x in out.read_text().splitlines()]
    assert len(got) == 6
    by = {g.get("id"): g for g in got}
    assert by["ok"]["quality"] == "kept" and by["ok"]["extra"] == 1 and by["ok"]["contaminated"] is False
    assert by["pii"]["pii"] == 3 and "<EMAIL>" in by["pii"]["text"] and "400 mg" in by["pii"]["text"]
    assert by["boiler"]["quality"] != "kept" and by["boiler"]["quality_failed"]
    assert by["leak"]["contaminated"] is True and by["leak"]["matched"] == "bench.jsonl:fr-1"
    assert "error" in by["notext"] and got[-1]["line"] == 6 and "invalid_json" in got[-1]["error"]
    h = subprocess.run(mmedc + ["clean", "--help"], capture_output=True, text=True)
    assert h.returncode == 0 and "--decontam" in h.stdout
