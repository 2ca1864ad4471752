"""Language packs: LID on all eight pack languages with script checks, short and mixed documents,
CJK word splitting, `mmedc lang add` producing a pack the pipeline uses, and calibration."""
from __future__ import annotations

import json
import shutil
import tomllib

import pytest
from typer.testing import CliRunner

from mmedc.classify.langid import LanguageIdentifier, script_ok
from mmedc.classify.packs import available_packs, load_pack
from mmedc.classify.words import count_words, split_words
from mmedc.cli import app
from mmedc.paths import packs_dir
from mmedc.sample.texts import GENERAL, MEDICAL

PACKS = ["en", "zh", "ja", "fr", "ru", "es", "de", "ar"]

# German and Arabic documents written for these tests (the sample has the other six languages).
EXTRA = {
    "de": {
        "medical": "Die Lungenentzündung ist eine akute Infektion der Lunge, die meist von Bakterien oder Viren "
                   "verursacht wird. Typische Symptome sind Fieber, Husten mit Auswurf, Atemnot und Schmerzen in der "
                   "Brust. Der Arzt stellt die Diagnose nach der körperlichen Untersuchung und einer Röntgenaufnahme. "
                   "Die Behandlung erfolgt mit einem Antibiotikum; ältere Patienten mit niedriger Sauerstoffsättigung "
                   "werden im Krankenhaus behandelt.",
        "general": "Der Stadtrat hat am Dienstag beschlossen, die alte Brücke über den Fluss im nächsten Sommer zu "
                   "erneuern. Während der Bauarbeiten fahren die Busse eine Umleitung durch die Altstadt, und der "
                   "Wochenmarkt zieht für drei Monate auf den Platz vor dem Rathaus.",
    },
    "ar": {
        "medical": "الالتهاب الرئوي عدوى حادة تصيب الرئتين وتسببها البكتيريا أو الفيروسات. تشمل الأعراض الحمى "
                   "والسعال وضيق التنفس وألم الصدر. يضع الطبيب التشخيص بعد الفحص السريري وصورة الأشعة للصدر، "
                   "ويكون العلاج بالمضادات الحيوية، ويحتاج المرضى كبار السن إلى دخول المستشفى عند انخفاض الأكسجين.",
        "general": "قرر مجلس المدينة يوم الثلاثاء تجديد الجسر القديم فوق النهر في الصيف المقبل. وخلال أعمال البناء "
                   "ستسلك الحافلات طريقا بديلا عبر المدينة القديمة، وسينتقل السوق الأسبوعي إلى الساحة أمام "
                   "مبنى البلدية لمدة ثلاثة أشهر.",
    },
}


def texts_for(lang: str) -> tuple[list[str], list[str]]:
    if lang in EXTRA:
        return [EXTRA[lang]["medical"]], [EXTRA[lang]["general"]]
    return [t for _, _, t in MEDICAL[lang]], [t for _, _, t in GENERAL[lang]]


@pytest.fixture(scope="module")
def lid():
    return LanguageIdentifier([load_pack(c) for c in PACKS])


def test_all_eight_packs_load_with_lid_and_ocr_settings():
    assert set(PACKS) <= set(available_packs())
    for code in PACKS:
        p = load_pack(code)
        assert p.lid_labels and p.scripts and p.tesseract and p.keywords and p.terms, code


@pytest.mark.parametrize("lang", PACKS)
def test_langid_accepts_each_pack_language(lid, lang):
    med, gen = texts_for(lang)
    for r in lid.identify(med + gen):
        assert r.accepted and r.lang == lang, (r.lang, r.reason)


@pytest.mark.parametrize("lang", PACKS)
def test_default_classifier_keeps_medical_drops_general(lang):
    from mmedc.classify.medical import get_classifier

    med, gen = texts_for(lang)
    clf = get_classifier()
    assert clf.name == "terms"
    assert all(s.medical and s.score >= 1 for s in clf.score(med, load_pack(lang)))
    assert not any(s.medical for s in clf.score(gen, load_pack(lang)))


def test_script_checks():
    ja, zh, ru, ar = (load_pack(c) for c in ("ja", "zh", "ru", "ar"))
    han_only = "患者出现发热和咳嗽，医生诊断为肺炎。"
    kana = "患者は発熱と咳を訴えて来院した。"
    assert not script_ok(ja, han_only, 17)[0]  # no kana: not Japanese
    assert script_ok(ja, kana, 16)[0]
    assert not script_ok(zh, kana, 16)[0]  # kana: not Chinese
    assert script_ok(zh, han_only, 17)[0]
    assert not script_ok(ru, "Privet, kak dela u tebya segodnya", 28)[0]  # transliterated: not Cyrillic
    assert not script_ok(ar, "Marhaban bikum fi al-mustashfa", 26)[0]


def test_han_without_kana_is_chinese_even_when_fasttext_says_japanese(lid):
    # A short Chinese exam-style question that lid.176 labels `ja`: the script decides.
    from mmedc.classify.langid import predict

    text = "咽的分部\nA. 咽隐窝\nB. 口咽部\nC. 鼻咽部\nD. 喉咽部"
    assert predict([text])[0][0][0] == "ja"
    r = lid.identify([text])[0]
    assert r.accepted and r.lang == "zh" and r.by_script


def test_short_documents_use_the_short_threshold(lid):
    r = lid.identify(["Fiebre y tos"])[0]
    assert r.short and r.letters < load_pack("es").lid_short_letters
    assert r.audit()["lang_short"] is True


def test_mixed_language_document_is_flagged(lid):
    en = " ".join(t for _, _, t in MEDICAL["en"])
    ru = " ".join(t for _, _, t in MEDICAL["ru"])
    fr = " ".join(t for _, _, t in MEDICAL["fr"])
    doc = "\n".join([en, ru, fr])
    r = lid.identify([doc])[0]
    assert not r.accepted and r.reason.startswith("mixed_language") and r.share < 0.5
    pure = lid.identify([ru + "\n" + ru])[0]
    assert pure.accepted and pure.lang == "ru" and pure.share in (None, 1.0)  # confident: not cut


def test_not_selected_and_empty(lid):
    r = lid.identify(["Questa è una frase in italiano sul tempo di oggi a Roma e sul traffico.", "12345 !!!"])
    assert r[0].reason.startswith("lang_not_selected") and r[0].lang == "it"
    assert r[1].reason.startswith("no_text")


def test_cjk_word_splitting():
    assert split_words("患者出现发热, and COUGH。", "cjk") == ["患", "者", "出", "现", "发", "热", "and", "cough"]
    assert split_words("糖尿病の患者は insulin を使う", "cjk")[:4] == ["糖", "尿", "病", "の"]
    assert count_words("患者发热 fever 3", "cjk") == 6
    assert split_words("Fever, cough; «grippe»!", "whitespace") == ["fever", "cough", "grippe"]


def test_term_matching_prefix_suffix_and_whole_words():
    from mmedc.classify.terms import TermMatcher

    m = TermMatcher([("pain", 1.0), ("cardiolog*", 1.0), ("*krankheit", 1.0), ("*entzünd*", 1.0)])
    counts, _ = m.match("Painting is painless. PAIN, pain! Cardiology and cardiologists; Herzkrankheit, "
                        "Lungenentzündung")
    got = {m.terms[i]: n for i, n in counts.items()}
    assert got == {"pain": 2, "cardiolog*": 2, "*krankheit": 1, "*entzünd*": 1}
    assert TermMatcher([("患者", 1.0)], "substring").match("老年患者")[0] == {0: 1}


def test_arabic_terms_match_with_attached_particles_only():
    from mmedc.classify.medical import _term_matcher

    m = _term_matcher(load_pack("ar"))
    idx = {t: i for i, t in enumerate(m.terms)}

    def found(text):
        return {m.terms[i] for i in m.match(text)[0]}

    assert "مريض" in found("زار الطبيب والمريض")  # و + ال attached
    assert "طبي" in found("الرعاية الطبية")  # ال before, ة after
    assert "طبي" not in found("هذا أمر طبيعي")  # "natural": other letters attached
    assert "مرض السل" in found("علاج مرض السل") and not found("دوري كرة السلة") & {"مرض السل", "الدرن"}
    assert idx


def test_weighted_terms_need_more_evidence_in_longer_documents():
    from dataclasses import replace

    from mmedc.classify.medical import WeightedTerms

    pack = replace(load_pack("en"), terms=(("chemotherapy", 3.0), ("court", -2.0)), terms_min_score=3.0,
                   terms_length_ref=60)
    short = "The patient started chemotherapy last week."
    long_ = short + " " + " ".join(["The weather was mild and the market was busy."] * 30)
    s_short, s_long = WeightedTerms().score([short, long_], pack)
    assert s_short.medical and s_short.score == pytest.approx(1.0)
    assert not s_long.medical and s_long.detail["words"] > 60
    neg = WeightedTerms().score([short + " The court ruled on it."], pack)[0]
    assert not neg.medical and neg.detail["negative_hits"] == 1 and neg.hits == 1


@pytest.fixture()
def packs_copy(tmp_path, monkeypatch):
    """A writable copy of filters/ used through MMEDC_PACKS."""
    d = tmp_path / "filters"
    shutil.copytree(packs_dir(), d)
    monkeypatch.setenv("MMEDC_PACKS", str(d))
    yield d
    load_pack.cache_clear()


ITALIAN_MEDICAL = ("Il paziente di 67 anni è stato ricoverato in ospedale per una polmonite con febbre alta e tosse. "
                   "Il medico ha prescritto un antibiotico per via endovenosa e ha controllato la pressione arteriosa; "
                   "dopo cinque giorni di terapia i sintomi sono migliorati e la diagnosi è stata confermata.")
ITALIAN_GENERAL = ("Il consiglio comunale ha approvato ieri il progetto per rinnovare il vecchio ponte sul fiume. "
                   "Durante i lavori gli autobus seguiranno un percorso alternativo attraverso il centro storico.")


def test_lang_add_scaffolds_a_pack_the_pipeline_uses(packs_copy):
    from mmedc.classify.packfile import update_pack_file
    from mmedc.config import load_recipe
    from mmedc.classify.steps import LangIdStep, MedicalStep
    from mmedc.engine.chain import run_chain
    from mmedc.audit import AuditLog

    res = CliRunner().invoke(app, ["lang", "add", "it", "--name", "Italian", "--script", "latin", "--tesseract", "ita"])
    assert res.exit_code == 0, res.output
    path = packs_copy / "it.toml"
    d = tomllib.loads(path.read_text())
    assert d["code"] == "it" and d["lid_labels"] == ["it"] and d["tesseract"] == "ita"
    assert d["medical"]["keywords"] == [] and d["medical"]["strong"] == []
    assert CliRunner().invoke(app, ["lang", "add", "it"]).exit_code != 0  # never overwrites silently
    # Fill the lists as a user would, then run the pipeline's filter chain with the new language.
    text = path.read_text().replace("strong = [\n]", 'strong = ["polmonit*", "antibiotic*", "diagnosi", "ospedal*"]')
    text = text.replace("medium = [\n]", 'medium = ["febbre", "tosse", "medico", "terapi*", "pazient*", "sintomi"]')
    path.write_text(text)
    load_pack.cache_clear()
    recipe_path = packs_copy.parent / "it.toml"
    recipe_path.write_text('[pipeline]\nlanguages = ["en", "it"]\n[[sources]]\nname = "x"\nkind = "jsonl"\n'
                           'paths = []\n')
    recipe = load_recipe(recipe_path)
    docs = [{"id": "med", "source": "x", "text": ITALIAN_MEDICAL}, {"id": "gen", "source": "x", "text": ITALIAN_GENERAL}]
    audit = AuditLog("s")
    kept = run_chain([LangIdStep(recipe), MedicalStep(recipe)], docs, audit)  # the pipeline's classify steps
    assert [d["id"] for d in kept] == ["med"] and kept[0]["lang"] == "it"
    rows = {(r["step"], r["id"]): r for step in audit.rows.values() for r in step}
    assert rows[("langid", "gen")]["decision"] == "kept" and rows[("medical", "gen")]["decision"] == "dropped"
    assert "evidence" in json.loads(rows[("medical", "med")]["detail"])
    # Calibration rewrites only the thresholds, keeping comments and the other tables.
    update_pack_file(path, "medical", {"terms_min_score": 2.5})
    assert "# Weights: strong 3" in path.read_text() and load_pack_file_value(path) == 2.5


def load_pack_file_value(path):
    return tomllib.loads(path.read_text())["medical"]["terms_min_score"]


def test_calibrate_chooses_separating_thresholds_and_keeps_other_tables(packs_copy, tmp_path):
    path = packs_copy / "en.toml"
    original = path.read_text()
    path.write_text(original + '\n[other_stage]\nmin_words = 50  # owned by another stage\n')
    recs = []
    for i in range(30):  # medical: several strong terms; general: none or one weak mention
        recs.append({"lang": "en", "label": "medical",
                     "text": f"Case {i}: the patient has pneumonia and fever; chemotherapy and insulin were stopped."})
        recs.append({"lang": "en", "label": "non_medical",
                     "text": f"Report {i}: the council discussed the bridge, the budget and the health of the economy."})
    recs.append({"lang": "fr", "label": "medical", "text": "ignored: another language"})
    f = tmp_path / "lab.jsonl"
    f.write_text("\n".join(json.dumps(r) for r in recs) + "\n")
    res = CliRunner().invoke(app, ["lang", "calibrate", "en", str(f)])
    assert res.exit_code == 0, res.output
    assert "60 labelled records" in res.output and "→ 1.000" in res.output
    new = tomllib.loads(path.read_text())
    assert new["other_stage"] == {"min_words": 50} and "# owned by another stage" in path.read_text()
    assert new["medical"]["keywords"] == tomllib.loads(original)["medical"]["keywords"]
    load_pack.cache_clear()
    from mmedc.classify.medical import get_classifier

    for name in ("terms", "mmedc"):
        scores = get_classifier(name).score([r["text"] for r in recs[:60]], load_pack("en"))
        assert [s.medical for s in scores] == [r["label"] == "medical" for r in recs[:60]], name


def test_calibrate_refuses_one_label(packs_copy, tmp_path):
    f = tmp_path / "lab.jsonl"
    f.write_text(json.dumps({"lang": "ru", "label": "medical", "text": "Пациент жалуется на боль."}) + "\n")
    res = CliRunner().invoke(app, ["lang", "calibrate", "ru", str(f)])
    assert res.exit_code != 0 and "both" in res.output


def test_recipe_min_score_applies_to_packs_without_their_own(tmp_path):
    from dataclasses import replace

    from mmedc.classify.langid import LanguageIdentifier

    en = replace(load_pack("en"), lid_min_score=None)
    text = MEDICAL["en"][0][2]
    assert LanguageIdentifier([en], default_min_score=0.5).identify([text])[0].accepted
    r = LanguageIdentifier([en], default_min_score=1.01).identify([text])[0]
    assert r.reason.startswith("low_lang_score") and "1.01" in r.reason
    assert not LanguageIdentifier([replace(en, lid_min_score=1.01)], default_min_score=0.1).identify([text])[0].accepted
