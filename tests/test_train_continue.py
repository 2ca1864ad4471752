"""Continued pretraining from a Hugging Face checkpoint folder and export back to one, on CPU:
the first step's loss is the loss transformers computes for the same packed batch, the exported folder
loads with AutoModelForCausalLM and gives the checkpoint's logits, and two gloo workers load a 1 GB
checkpoint into their FSDP shards without either holding the whole model."""
import json
import resource
import sys

import numpy as np
import pytest
import torch

HP = {"seq_len": 32, "micro_batch": 2, "grad_accum": 2, "lr": 1e-3, "checkpoint_every": 100, "eval_every": 3,
      "val_fraction": 0.36, "val_tokens": 512, "warmup_ratio": 0.0}
LLAMA3_VOCAB, LLAMA3_EOS = 128256, 128001


def save_llama(path, hidden=32, intermediate=64, layers=2, tie=False, vocab=LLAMA3_VOCAB, eos=LLAMA3_EOS, **kw):
    from transformers import AutoConfig, AutoModelForCausalLM

    config = AutoConfig.for_model("llama", hidden_size=hidden, intermediate_size=intermediate, num_hidden_layers=layers,
                                  num_attention_heads=4, num_key_value_heads=2, vocab_size=vocab, eos_token_id=eos,
                                  bos_token_id=128000, tie_word_embeddings=tie)
    torch.manual_seed(1)
    model = AutoModelForCausalLM.from_config(config)
    model.save_pretrained(path, **kw)
    return model


@pytest.fixture(scope="module")
def continued(sample_run, tmp_path_factory):
    """A tiny Llama saved in 2 MB safetensors parts, continued for 6 steps (1 worker, FSDP2 path)."""
    from mmedc.executor.ray_executor import start as init_ray
    from mmedc.train.launch import train

    init_ray(None, 2)
    root = tmp_path_factory.mktemp("continue")
    save_llama(root / "base", max_shard_size="2MB")
    assert (root / "base" / "model.safetensors.index.json").exists()
    res = train(sample_run, str(root / "base"), root / "run", steps=6, overrides=HP, progress=False,
                strategy="fsdp", activation_checkpointing=True)
    return root, res


def _loss(model, batch):
    inputs = {k: torch.from_numpy(v) for k, v in batch.items()}
    with torch.no_grad():
        return float(model(**inputs, use_cache=False).loss)


def test_first_step_loss_is_transformers_loss(continued, sample_run):
    from transformers import AutoModelForCausalLM

    from mmedc.train.data import BatchPlan, PackedSequences, load_shards

    root, res = continued
    assert [m["step"] for m in res.metrics] == list(range(1, 7))
    seqs = PackedSequences(load_shards(sample_run), HP["seq_len"], HP["val_fraction"], seed=0)
    plan = BatchPlan(HP["micro_batch"], HP["grad_accum"], 1)
    ref = AutoModelForCausalLM.from_pretrained(root / "base", dtype=torch.float32)
    expected = np.mean([_loss(ref, seqs.batch(plan.first_sequence(0, 0, a), plan.micro_batch)) for a in range(2)])
    print(f"first step: mmedc {res.metrics[0]['loss']:.6f}, transformers {expected:.6f}")
    assert res.metrics[0]["loss"] == pytest.approx(expected, abs=1e-4)
    assert res.metrics[-1]["loss"] < res.metrics[0]["loss"]


def test_export_round_trip(continued, sample_run, tmp_path):
    from torch.distributed.checkpoint.format_utils import dcp_to_torch_save
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from mmedc.train.data import load_shards, validation_set
    from mmedc.train.export import ExportError, export
    from mmedc.train.launch import latest_checkpoint

    root, res = continued
    ckpt = latest_checkpoint(res.out)
    assert ckpt.name == "step-000006"
    hf = export(res.out, tmp_path / "hf")
    assert {"config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json", "README.md"} <= {
        p.name for p in hf.iterdir()}
    with pytest.raises(ExportError, match="not empty"):
        export(ckpt, hf)
    model = AutoModelForCausalLM.from_pretrained(hf).eval()
    assert model.dtype == torch.float32
    # The reference: the checkpoint converted by torch's own DCP tool into the base architecture.
    dcp_to_torch_save(str(ckpt), str(tmp_path / "ref.pt"))
    ref = AutoModelForCausalLM.from_pretrained(root / "base", dtype=torch.float32).eval()
    ref.load_state_dict(torch.load(tmp_path / "ref.pt")["model"])
    x = torch.randint(0, 128256, (2, 24), generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        diff = (model(x).logits - ref(x).logits).abs().max().item()
    print(f"exported vs checkpoint logits: max |diff| = {diff:.2e}")
    assert diff <= 1e-5
    # The exported model's held-out loss is the one the training loop logged at its last step.
    val = validation_set(load_shards(sample_run), HP["seq_len"], HP["val_fraction"], HP["val_tokens"])
    logged = res.validation[-1]
    assert logged["step"] == 6
    for lang, seqs in val.sequences.items():
        tot = sum(_loss(model, {k: v[None] for k, v in s.items()}) * (s["labels"][1:] != -100).sum() for s in seqs)
        n = sum((s["labels"][1:] != -100).sum() for s in seqs)
        assert tot / n == pytest.approx(logged["val_loss"][lang], abs=1e-5)
    tok = AutoTokenizer.from_pretrained(hf)
    assert tok.eos_token == "<|end_of_text|>" and tok.eos_token_id == LLAMA3_EOS
    card = (hf / "README.md").read_text()
    assert "| zh | 3 | 523 |" in card and "## Held-out loss per language" in card and "| sequence length | 32 tokens" in card
    assert f"| 6 | {logged['val_loss']['en']:.4f} |" in card


def test_tokenizer_mismatch_is_refused_before_training(sample_run, tmp_path):
    from mmedc.train.launch import train
    from mmedc.train.model import ModelError

    save_llama(tmp_path / "small", vocab=1000, eos=999)
    with pytest.raises(ModelError, match="embeddings for 1000 tokens"):
        train(sample_run, str(tmp_path / "small"), tmp_path / "o", steps=2, progress=False)
    save_llama(tmp_path / "eos", eos=128009)
    with pytest.raises(ModelError, match="end-of-text id is 128009"):
        train(sample_run, str(tmp_path / "eos"), tmp_path / "o", steps=2, progress=False)
    from tokenizers import Tokenizer

    manifest = json.loads((sample_run / "manifest.json").read_text())
    tok = Tokenizer.from_file(manifest["tokenizer"]["path"])
    tok.add_tokens(["<extra-medical-token>"])  # one more entry than the shards' tokenizer
    save_llama(tmp_path / "tok", vocab=LLAMA3_VOCAB + 8)
    tok.save(str(tmp_path / "tok" / "tokenizer.json"))
    with pytest.raises(ModelError, match="tokenizer.json differs"):
        train(sample_run, str(tmp_path / "tok"), tmp_path / "o", steps=2, progress=False)
    (tmp_path / "weightless").mkdir()
    (tmp_path / "weightless" / "config.json").write_text((tmp_path / "tok" / "config.json").read_text())
    with pytest.raises(ModelError, match="no model.safetensors"):
        train(sample_run, str(tmp_path / "weightless"), tmp_path / "o", steps=2, progress=False)


def test_two_gloo_workers_load_a_1gb_checkpoint_into_shards(sample_run, tmp_path, ray_local):
    """1.05 GB of fp32 weights (untied 128k-vocabulary embeddings, hidden 1024; an odd MLP width splits
    unevenly over 2 ranks): each rank reads only its rows, so its peak RSS stays below the model's size
    + 1 GB; the held-out loss both ranks compute together equals transformers' on the whole model."""
    from transformers import AutoModelForCausalLM

    from mmedc.train.data import load_shards, validation_set
    from mmedc.train.launch import train
    from mmedc.train.weights import checkpoint_bytes

    save_llama(tmp_path / "big", hidden=1024, intermediate=1027, layers=1)
    size_gb = checkpoint_bytes(tmp_path / "big") / 1e9
    assert size_gb >= 1.0
    res = train(sample_run, str(tmp_path / "big"), tmp_path / "o", steps=1, workers=2, eval_only=True, progress=False,
                strategy="fsdp", overrides={**HP, "val_tokens": 64})
    row = res.validation[0]
    print(f"checkpoint {size_gb:.2f} GB fp32; peak RSS of the worst rank after loading {row['load_peak_mem_gb']:.2f} GB "
          f"(limit {size_gb + 1:.2f} GB), after the sharded evaluation {row['peak_mem_gb']:.2f} GB; load {row['load_s']:.1f} s")
    assert row["load_peak_mem_gb"] < size_gb + 1.0
    model = AutoModelForCausalLM.from_pretrained(tmp_path / "big", dtype=torch.float32).eval()
    val = validation_set(load_shards(sample_run), HP["seq_len"], HP["val_fraction"], 64)
    assert sorted(row["val_loss"]) == val.langs and len(val.langs) >= 2
    for lang, seqs in val.sequences.items():
        tot = sum(_loss(model, {k: v[None] for k, v in s.items()}) * (s["labels"][1:] != -100).sum() for s in seqs)
        n = sum((s["labels"][1:] != -100).sum() for s in seqs)
        assert tot / n == pytest.approx(row["val_loss"][lang], abs=1e-4)
    if sys.platform == "linux":
        print(f"(this test process: peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6:.2f} GB)")


def test_mmed_llama3_preset_scales_the_global_batch_to_the_workers():
    from mmedc.train.launch import TrainError, hyper_parameters
    from mmedc.train.model import ModelError, resolve_model

    spec = resolve_model("llama3-8b")
    hp = hyper_parameters(spec.train, "mmed-llama3", {}, workers=8)
    assert (hp["seq_len"], hp["micro_batch"], hp["grad_accum"], hp["lr"], hp["warmup_ratio"], hp["weight_decay"]) == (
        8192, 1, 64, 2e-5, 0.01, 0.01)
    assert hyper_parameters(spec.train, "mmed-llama3", {"micro_batch": 2}, workers=16)["grad_accum"] == 16
    assert hyper_parameters(spec.train, "mmed-llama3", {"grad_accum": 3}, workers=8)["grad_accum"] == 3  # given wins
    with pytest.raises(TrainError, match="not a multiple"):
        hyper_parameters(spec.train, "mmed-llama3", {}, workers=3)
    with pytest.raises(ModelError, match="not a preset"):
        hyper_parameters(spec.train, "nope", {}, workers=1)
    with pytest.raises(ModelError, match="training preset"):
        resolve_model("mmed-llama3")
