"""Dedup finds exact and near copies with a deterministic survivor; tokenizers load offline."""
import json

import pytest

from mmedc.config import DedupConfig
from mmedc.dedup.minhash import find_duplicates, signatures
from mmedc.sample.build import perturb
from mmedc.sample.texts import MEDICAL, GENERAL
from mmedc.shards.tokenizer import TokenizerError, load_tokenizer


def docs_for(items):
    return [{"id": i, "text": t, "lang": lang} for i, t, lang in items]


def test_exact_and_near_duplicates():
    en, zh = MEDICAL["en"][0][2], MEDICAL["zh"][0][2]
    docs = docs_for([("a", en, "en"), ("b", en.upper(), "en"), ("c", perturb(en, 0.02, 1, False), "en"),
                     ("d", MEDICAL["en"][1][2], "en"), ("e", zh, "zh"), ("f", perturb(zh, 0.02, 2, True), "zh"),
                     ("g", GENERAL["en"][0][2], "en")])
    cfg = DedupConfig()
    dups = find_duplicates(signatures(docs, cfg, {"zh", "ja"}), cfg).to_pylist()
    by_id = {r["id"]: r for r in dups}
    # a and b tie on length → the smaller id survives; the edited copies are shorter than their originals.
    assert set(by_id) == {"b", "c", "f"}
    assert (by_id["b"]["kind"], by_id["b"]["cluster"]) == ("exact", "a")
    assert (by_id["c"]["kind"], by_id["c"]["cluster"]) == ("near", "a") and by_id["c"]["similarity"] >= 0.8
    assert (by_id["f"]["kind"], by_id["f"]["cluster"]) == ("near", "e")


def test_survivor_is_longest_then_smallest_id():
    text = MEDICAL["fr"][0][2]
    docs = docs_for([("z", text, "fr"), ("y", text, "fr"), ("x", text + " Fin.", "fr")])
    cfg = DedupConfig()
    dups = find_duplicates(signatures(docs, cfg, set()), cfg).to_pylist()
    assert {r["id"] for r in dups} == {"y", "z"} and {r["cluster"] for r in dups} == {"x"}
    # Same input in another order: same decisions.
    dups2 = find_duplicates(signatures(list(reversed(docs)), cfg, set()), cfg).to_pylist()
    assert sorted(map(json.dumps, dups)) == sorted(map(json.dumps, dups2))


def test_llama3_tokenizer_ends_with_eos():
    tok = load_tokenizer("llama3")
    assert tok.vocab_size == 128256 and tok.eos_token == "<|end_of_text|>"
    (ids,) = tok.encode(["Pneumonia is an infection of the lungs."])
    assert ids[-1] == tok.eos_id and len(ids) > 5


def test_any_tokenizer_json_path(tmp_path):
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers

    t = Tokenizer(models.BPE(unk_token="<unk>"))
    t.pre_tokenizer = pre_tokenizers.Whitespace()
    t.train_from_iterator([x for _, _, x in MEDICAL["en"]] * 3,
                          trainers.BpeTrainer(vocab_size=300, special_tokens=["<unk>", "</s>"]))
    t.save(str(tmp_path / "tokenizer.json"))
    tok = load_tokenizer(str(tmp_path))
    assert tok.eos_token == "</s>" and tok.encode(["fever"])[0][-1] == tok.eos_id
    with pytest.raises(TokenizerError):
        load_tokenizer(str(tmp_path / "missing.json"))
