"""`mmedc eval --by-source` (leave-one-source-out) and the threshold fit it shares with `lang calibrate`."""
import json

import numpy as np
from typer.testing import CliRunner

from mmedc.classify.bysource import evaluate_by_source, source_group
from mmedc.classify.calibrate import best_threshold, calibrate
from mmedc.classify.packs import load_pack
from mmedc.cli import app


def test_source_group_joins_splits_and_uses_folders_for_record_files():
    g = lambda s, src: source_group({"set": s, "source": src})  # noqa: E731
    assert g("mmlu", "mmlu/data/dev/anatomy_dev.csv") == g("mmlu", "mmlu/data/test/anatomy_test.csv") == "mmlu:anatomy"
    assert g("medquad", "medquad/1_CancerGov_QA/0000001_1.xml#3") == "medquad:CancerGov_QA"
    assert g("rumed", "rumed/data/RuMedDaNet/dev_v1.jsonl") == "rumed:RuMedDaNet"
    assert source_group({"set": "lingua"}) == "lingua"


def test_threshold_lies_strictly_between_kept_and_dropped_values():
    x = np.array([6.0, 5.9981, 5.998, 1.0])
    gold = np.array([True, True, False, False])
    f1, th, p, r = best_threshold(x, gold)
    assert f1 == 1.0 and 5.998 < th < 5.9981 and list(x >= th) == list(gold)
    # Within the tolerance, the candidate nearest the prior wins over the best F1's exact edge.
    x2 = np.array([9.0, 8.0, 3.0, 2.9, 1.0])
    g2 = np.array([True, True, True, False, False])
    assert best_threshold(x2, g2)[1] < 3.0  # F1 1.0: keep all three positives
    assert best_threshold(x2, g2, prior=8.5, tol=0.25)[1] > 3.0  # F1 0.8 is within 0.25 and nearer 8.5


def _recs(n=40):
    """Three English sources: plain medical, general (no terms), and medical text with one medium term."""
    out = []
    for i in range(n):
        out.append({"lang": "en", "set": "cases", "label": "medical",
                    "text": f"Case {i}: pneumonia treated with amoxicillin; the patient had sepsis and tachycardia."})
        out.append({"lang": "en", "set": "news", "label": "non_medical",
                    "text": f"Story {i}: the council approved the new bridge and the budget for the harbour."})
        out.append({"lang": "en", "set": "weak", "label": "medical",
                    "text": f"Note {i}: she felt some pain after the long walk home yesterday evening."})
    return out


def test_held_out_source_is_scored_with_thresholds_fitted_without_it():
    recs = _recs()
    rep = evaluate_by_source(recs, ["en"], ["terms"])["en"]
    rows = {r.group: r for r in rep.sources}
    # Fitted on cases + news, the thresholds cannot know the weak source: it stays unrecognised ...
    assert rows["weak"].loso["terms"][0] == 0
    # ... whereas fitting on every source (what `lang calibrate` on the same file does) finds it, if it can.
    texts, labels = [r["text"] for r in recs], [r["label"] for r in recs]
    in_sample = calibrate(texts, labels, load_pack("en"), ["terms"])[0]
    assert in_sample.recall == 1.0 and rep.loso["terms"].recall == 0.5
    # Leaving out the only general source leaves nothing to fit on: the shipped thresholds are kept.
    assert rep.fallback["terms"] == 1 and rows["news"].loso["terms"] == rows["news"].dev["terms"]


def test_eval_by_source_command_prints_dev_and_loso(tmp_path):
    f = tmp_path / "lab.jsonl"
    f.write_text("\n".join(json.dumps(r) for r in _recs(10)) + "\n")
    res = CliRunner().invoke(app, ["eval", str(f), "--by-source", "-l", "en", "-c", "terms"])
    assert res.exit_code == 0, res.output
    assert "LOSO" in res.output and "macro" in res.output and "cases" in res.output


def test_pack_refuses_a_star_inside_a_term(tmp_path):
    import pytest

    from mmedc.classify.packs import PackError, load_pack_file

    f = tmp_path / "xx.toml"
    f.write_text('code = "xx"\n[medical]\nstrong = ["blood* pressure"]\n')
    with pytest.raises(PackError, match="only at a term's start or end"):
        load_pack_file(f)


def test_calibrate_warns_on_a_small_labelled_set_and_writes_what_it_printed(tmp_path):
    import shutil
    import tomllib

    from mmedc.classify.packs import load_pack_file

    packs = tmp_path / "packs"
    shutil.copytree(load_pack("en").path.parent, packs)
    f = tmp_path / "lab.jsonl"
    f.write_text("\n".join(json.dumps(r) for r in _recs(10)) + "\n")
    res = CliRunner().invoke(app, ["lang", "calibrate", "en", str(f), "-c", "terms", "--dir", str(packs)])
    assert res.exit_code == 0, res.output
    assert "fewer than 200 records of a class" in res.output
    th = tomllib.loads((packs / "en.toml").read_text())["medical"]["terms_min_score"]
    pack = load_pack_file(packs / "en.toml")
    recs = _recs(10)
    from mmedc.classify.medical import get_classifier

    called = [s.medical for s in get_classifier("terms").score([r["text"] for r in recs], pack)]
    assert called == [r["label"] == "medical" for r in recs] and "F1 " in res.output and th < 1.5
