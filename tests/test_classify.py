"""Language ID on the six sample languages and the MMedC keyword rule's exact semantics."""
import pytest

from mmedc.classify.keywords import KeywordMatcher, is_long
from mmedc.classify.langid import identify
from mmedc.classify.medical import MMedCRule
from mmedc.classify.packs import load_pack
from mmedc.sample.texts import GENERAL, MEDICAL


@pytest.mark.parametrize("lang", ["en", "zh", "ja", "fr", "ru", "es"])
def test_langid_identifies_each_language(lang):
    texts = [t for _, _, t in MEDICAL[lang]] + [t for _, _, t in GENERAL[lang]]
    for label, score in identify(texts):
        assert label == lang and score > 0.5


def test_long_vs_short_keywords():
    assert is_long("chemotherapy") and is_long("heart failure") and not is_long("fever") and not is_long("x ray")
    m = KeywordMatcher(["fever", "heart failure", "chemotherapy"])
    r = m.match("Feverish patients... fever, FEVER! heart failure; radiochemotherapy")
    # "fever" only as a whole token (not inside "feverish"); long ones as substrings.
    assert r.counts == {"fever": 2, "heart failure": 1, "chemotherapy": 1}
    text = "Feverish patients... fever, FEVER! heart failure; radiochemotherapy"
    assert r.unique == 3
    assert r.density == pytest.approx((2 * 5 + 13 + 12) / len(text))


def test_substring_counts_do_not_overlap_like_str_count():
    m = KeywordMatcher(["anaanaana"], cjk=True)
    assert m.match("anaanaanaanaana").counts == {"anaanaana": "anaanaanaanaana".count("anaanaana")}


def test_cjk_keywords_match_inside_text():
    pack = load_pack("zh")
    m = KeywordMatcher(pack.keywords, cjk=True)
    r = m.match("患者出现发热和咳嗽，医生诊断为肺炎。")
    assert {"患者", "发热", "咳嗽", "诊断", "肺炎"} <= set(r.counts)


@pytest.mark.parametrize("lang", ["en", "zh", "ja", "fr", "ru", "es"])
def test_rule_keeps_medical_drops_general(lang):
    pack = load_pack(lang)
    rule = MMedCRule()
    med = rule.score([t for _, _, t in MEDICAL[lang]], pack)
    gen = rule.score([t for _, _, t in GENERAL[lang]], pack)
    assert all(s.medical for s in med) and not any(s.medical for s in gen)


def test_rule_thresholds_are_both_required():
    from dataclasses import replace

    base = replace(load_pack("en"), keywords=("fever", "cough"))
    text = "fever and cough"  # U = 2, D = 10 / 15
    assert MMedCRule().score([text], replace(base, min_unique=2, min_density=0.6))[0].medical
    assert not MMedCRule().score([text], replace(base, min_unique=2, min_density=0.7))[0].medical
    assert not MMedCRule().score([text], replace(base, min_unique=3, min_density=0.1))[0].medical


def test_short_multiword_keyword_matches_whole_token_runs():
    m = KeywordMatcher(["x ray", "fever"])  # 5 characters, two words: short, so whole tokens only
    r = m.match("An X ray, then x rays and box raying; fever.")
    assert r.counts == {"x ray": 1, "fever": 1}


def test_rule_long_keyword_threshold_is_strict():
    # exactly 10 characters and one word: short (whole token); 11: long (substring)
    assert not is_long("cardiology") and is_long("neurologist")
    m = KeywordMatcher(["cardiology", "neurologist"])
    assert m.match("neurocardiology neurologists").counts == {"neurologist": 1}


@pytest.mark.parametrize("name", ["terms", "mmedc"])
@pytest.mark.parametrize("lang", ["en", "zh", "ja", "fr", "ru", "es"])
def test_both_classifiers_keep_sample_medical_drop_general(lang, name):
    from mmedc.classify.medical import get_classifier

    pack, clf = load_pack(lang), get_classifier(name)
    med = clf.score([t for _, _, t in MEDICAL[lang]], pack)
    gen = clf.score([t for _, _, t in GENERAL[lang]], pack)
    assert all(s.medical and s.score >= 1.0 for s in med) and all(not s.medical and s.score < 1.0 for s in gen)


def test_classify_command_adds_fields_and_reports_bad_lines(tmp_path):
    import json

    from typer.testing import CliRunner

    from mmedc.cli import app

    src = tmp_path / "in.jsonl"
    recs = [{"id": "m", "text": MEDICAL["en"][0][2], "url": "u1"}, {"id": "g", "text": GENERAL["fr"][0][2]},
            {"id": "x", "text": "Questa è una frase in italiano sul tempo di oggi a Roma e sul traffico."}]
    src.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in recs[:2]) + "\n{not json\n"
                   + json.dumps(recs[2], ensure_ascii=False) + "\n")
    out = tmp_path / "out.jsonl"
    res = CliRunner().invoke(app, ["classify", str(src), "-o", str(out)])
    assert res.exit_code == 0, res.output
    assert "3 records" in res.output and "1 unreadable" in res.output
    lines = list(map(json.loads, out.read_text().splitlines()))
    assert lines[2] == {"line": 3, "error": "invalid_json: Expecting property name enclosed in double quotes at column 2"}
    rows = {r["id"]: r for r in lines if "id" in r}
    assert rows["m"]["url"] == "u1" and rows["m"]["lang"] == "en" and rows["m"]["medical"] is True
    assert rows["m"]["medical_hits"] >= 5 and rows["m"]["medical_density"] > 0 and rows["m"]["medical_score"] >= 1
    assert rows["g"]["lang"] == "fr" and rows["g"]["medical"] is False
    assert rows["x"]["medical"] is None and rows["x"]["lang_reason"].startswith("lang_not_selected")
    res = CliRunner().invoke(app, ["classify", str(src), "-o", str(out), "--classifier", "mmedc"])
    assert res.exit_code == 0 and json.loads(out.read_text().splitlines()[0])["medical_hits"] >= 5
    assert CliRunner().invoke(app, ["classify", str(src), "-o", str(out), "-c", "nope"]).exit_code != 0


def test_eval_command_prints_both_classifiers(tmp_path):
    import json

    from typer.testing import CliRunner

    from mmedc.cli import app

    f = tmp_path / "lab.jsonl"
    rows = [{"lang": l, "label": "medical", "text": t} for l in ("en", "zh") for _, _, t in MEDICAL[l]]
    rows += [{"lang": l, "label": "non_medical", "text": t} for l in ("en", "zh") for _, _, t in GENERAL[l]]
    f.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n")
    res = CliRunner().invoke(app, ["eval", str(f), "-l", "en", "-l", "zh"])
    assert res.exit_code == 0, res.output
    assert "terms F1" in res.output and "mmedc F1" in res.output
    en = next(line for line in res.output.splitlines() if line.strip("│ ").startswith("en"))
    assert en.count("1.000") == 7  # LID accuracy and P/R/F1 of both classifiers


def test_default_beats_rule_on_dev_data(dev_data):
    """On the third-party dev set (every 4th record): the default's F1 is above the rule's where both labels exist."""
    import gzip
    import json

    from mmedc.classify.evaluate import evaluate

    recs = []
    with gzip.open(dev_data / "text" / "dev.jsonl.gz", "rt") as f:
        for i, line in enumerate(f):
            if i % 4 == 0:
                recs.append(json.loads(line))
    reps = evaluate(recs, ["en", "zh", "ja", "fr", "ru", "es"], ["terms", "mmedc"], lid=False)
    both = [c for c, r in reps.items() if r.both_labels]
    assert set(both) == {"en", "zh", "ja"}
    for c in both:
        assert reps[c].medical["terms"].f1 > reps[c].medical["mmedc"].f1 + 0.1, c
    for c in ("es", "fr", "ru"):  # medical records only: recall
        assert reps[c].medical["terms"].recall > reps[c].medical["mmedc"].recall, c


def test_default_keeps_few_general_web_pages(dev_data):
    """trafilatura's evaluation pages (general web: news, shops, blogs; a few about health): long
    documents that mention health in passing must not pass the default classifier wholesale."""
    import gzip

    import trafilatura

    from mmedc.classify.langid import LanguageIdentifier
    from mmedc.classify.medical import get_classifier

    texts = []
    for f in sorted((dev_data / "html" / "trafilatura_eval" / "pages").glob("*.html.gz")):
        t = trafilatura.extract(gzip.open(f, "rt", errors="replace").read()) or ""
        if len(t) > 200:
            texts.append(t)
    en = [t for t, r in zip(texts, LanguageIdentifier([load_pack("en")]).identify(texts)) if r.accepted]
    assert len(en) > 100
    kept = sum(s.medical for s in get_classifier("terms").score(en, load_pack("en")))
    assert kept / len(en) < 0.12, f"{kept}/{len(en)} general English web pages kept as medical"
