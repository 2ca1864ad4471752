"""What language ID reads: options, numbering and abbreviations do not decide the language; script
counts come from one vectorised pass and agree with the regex definitions; the sample is bounded."""
import re

import pytest

from mmedc.classify.langid import LanguageIdentifier
from mmedc.classify.lidtext import PREFIX_CHARS, bounded, lid_sample, question_stem
from mmedc.classify.packs import available_packs, load_pack
from mmedc.classify.scripts import SCRIPT_RANGES, ScriptProfile


@pytest.fixture(scope="module")
def lid():
    return LanguageIdentifier([load_pack(c) for c in available_packs()])


QUESTIONS = [  # (gold, text): written for this test
    ("en", "Which class of antibody crosses the placenta?\nA. IgM\nB. IgA\nC. IgG\nD. IgE"),
    ("en", "Which enzyme unwinds the double helix?\nA. DNA pol I\nB. RNA pol II\nC. DnaB\nD. DnaG"),
    ("zh", "下列激素中促进卵泡募集和生长的是\nA. PRL\nB. FSH\nC. LH\nD. PG"),
    ("zh", "麻醉平面达到脐部时对应的脊神经节段是\nA. T12\nB. T8\nC. T10\nD. T6"),
    ("ja", "成人の安静時の正常な心拍数はどれか。\nA. 60-80 bpm\nB. 60-100 bpm\nC. 60-90 bpm\nD. 60-110 bpm"),
    ("fr", "Quel est le champignon exclusivement anthropophile ?\na. Trichophyton rubrum\nb. Cryptococcus "
           "neoformans\nc. Aspergillus fumigatus\nd. Candida albicans"),
]


@pytest.mark.parametrize("gold,text", QUESTIONS)
def test_options_and_abbreviations_do_not_decide_the_language(lid, gold, text):
    r = lid.identify([text])[0]
    assert r.accepted and r.lang == gold, r


def test_question_stem_needs_trailing_options():
    assert question_stem("Which one is right?\nA. one\nB. two") == "Which one is right?"
    assert question_stem("A list:\n1. first\nthen a closing sentence.") is None  # options not at the end
    assert question_stem("Which?\nA. one\nB. two") is None  # stem too short to decide alone


def test_noise_is_removed_but_words_stay():
    s = lid_sample("The ratio of HClO2 to CrO4 in 10 mL was measured by IMPRINT and DNA tests")
    assert "HClO2" not in s and "10" not in s and "DNA" not in s
    assert "IMPRINT" in s and "measured" in s  # long words in capitals are words
    assert lid_sample("12345 IgM DNA") == "12345 IgM DNA"  # nothing with letters left: the text itself


def test_script_profile_agrees_with_regex_counts():
    text = "Привет, world! 下列激素 ひらがな カタカナ 한국어 مرحبا שלום ½² _9 ⾯々"
    prof = ScriptProfile(text)
    assert prof.letters == len(re.findall(r"[^\W\d_]", text))
    for name, spec in SCRIPT_RANGES.items():
        assert prof.count([name]) == len(re.findall(f"[{spec}]", text)), name
    assert prof.unit_share(["han"]) == pytest.approx(prof.count(["han"]) / (prof.count(["han"]) + 8))


def test_sample_is_bounded_and_sees_the_whole_document():
    en = "The patient was admitted with fever and a cough that had lasted for three weeks. " * 40
    ru = "Пациент поступил с лихорадкой и кашлем, который продолжался три недели подряд. " * 40
    s = bounded(en + "\n" + ru)
    assert len(s) <= PREFIX_CHARS + 10 and "Пациент" in s and s.startswith("The patient")
    assert bounded(en[:500]) == en[:500]


def test_bad_text_gets_a_result_not_a_crash(lid):
    texts = ["", "The patient \ud800 was admitted with a fever and a cough.", "$$ $$", "12345 !!!"]
    res = lid.identify(texts)
    assert len(res) == 4 and res[1].accepted and res[1].lang == "en"
    assert all(r.reason.startswith("no_text") for r in (res[0], res[2], res[3]))
