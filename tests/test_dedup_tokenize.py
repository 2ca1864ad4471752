"""Tokenizers load offline (the dedup tests moved to tests/test_dedup.py)."""

import pytest

from mmedc.sample.texts import MEDICAL
from mmedc.shards.tokenizer import TokenizerError, load_tokenizer


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
