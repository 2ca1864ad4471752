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
