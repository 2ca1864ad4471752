"""Models for the pretraining stage: a Llama built from a config file, or a local checkpoint folder.

`--model` is one of
  - a bundled preset name (`tiny-llama`, `llama3-1b`, `llama3-8b`: mmedc/train/configs/<name>.json),
  - a preset-style JSON file {"model": {LlamaConfig fields}, "train": {default hyper-parameters}},
  - a plain transformers config.json (a fresh model with that architecture),
  - a local folder holding config.json + weights (continued pretraining, e.g. Llama 3 8B's release).
Nothing is downloaded: folders are opened with local_files_only.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

CONFIGS = Path(__file__).parent / "configs"

# Hyper-parameters used when the model spec carries none (MMed-Llama 3's continued pretraining).
# val_fraction: share of documents held out (by id hash) for per-language validation; val_tokens: the
# most held-out tokens evaluated per language; eval_every: steps between evaluations (and at the end).
TRAIN_DEFAULTS = {"seq_len": 8192, "micro_batch": 1, "grad_accum": 1, "lr": 2e-5, "warmup_ratio": 0.01,
                  "weight_decay": 0.01, "checkpoint_every": 200, "eval_every": 200, "val_fraction": 0.001,
                  "val_tokens": 131072, "shuffle": True}


class ModelError(ValueError):
    pass


@dataclass
class ModelSpec:
    name: str
    config: dict  # transformers config fields
    weights: str | None = None  # a local checkpoint folder, when continuing from weights
    train: dict = field(default_factory=dict)


def resolve_model(spec: str) -> ModelSpec:
    preset = CONFIGS / f"{spec}.json"
    p = preset if preset.exists() else Path(spec).expanduser()
    if p.is_dir():
        cfg = p / "config.json"
        if not cfg.exists():
            raise ModelError(f"--model {spec}: folder without config.json")
        if not ((p / "model.safetensors").exists() or (p / "model.safetensors.index.json").exists()):
            raise ModelError(f"--model {spec}: no model.safetensors or model.safetensors.index.json in the folder "
                             "(other weight formats: load and save_pretrained(..., safe_serialization=True) once)")
        return ModelSpec(p.name, json.loads(cfg.read_text()), weights=str(p.resolve()), train=dict(TRAIN_DEFAULTS))
    if not p.is_file():
        names = sorted(f.stem for f in CONFIGS.glob("*.json"))
        raise ModelError(f"--model {spec}: not a preset ({', '.join(names)}), a config JSON or a checkpoint folder")
    data = json.loads(p.read_text())
    if set(data) <= {"train", "_comment"}:
        raise ModelError(f"--model {spec}: a training preset (hyper-parameters only): give it as --preset {spec} "
                         "with --model <checkpoint folder or model preset>")
    if "model" in data:
        return ModelSpec(p.stem, data["model"], train={**TRAIN_DEFAULTS, **data.get("train", {})})
    return ModelSpec(p.stem, data, train=dict(TRAIN_DEFAULTS))


def model_config(spec: ModelSpec, vocab_size: int, eos_id: int, attn: str = "sdpa"):
    """The transformers config of the model to train; a fresh model's vocabulary follows the shards'."""
    from transformers import AutoConfig

    if spec.weights:
        config = AutoConfig.from_pretrained(spec.weights, local_files_only=True)
    else:
        fields = dict(spec.config)
        model_type = fields.pop("model_type", "llama")
        fields = {k: v for k, v in fields.items() if not k.startswith("_")}
        fields.update(vocab_size=vocab_size, eos_token_id=eos_id)
        config = AutoConfig.for_model(model_type, **fields)
    config.use_cache = False
    config._attn_implementation = attn
    return config


def check_tokenizer(spec: ModelSpec, tokenizer: dict):
    """The shards' tokenizer (manifest `tokenizer`) must be the one the checkpoint was trained with."""
    if not spec.weights:
        return
    name = f"{tokenizer.get('name', '?')} (vocabulary {tokenizer['vocab_size']}, EOS {tokenizer['eos_id']} " \
           f"{tokenizer.get('eos_token', '')!r})"
    vocab = spec.config.get("vocab_size")
    if vocab is not None and int(vocab) < int(tokenizer["vocab_size"]):
        raise ModelError(f"--model {spec.weights}: embeddings for {vocab} tokens, but the shards were tokenized with "
                         f"{name}: re-tokenize the corpus with the model's tokenizer ([tokenize] tokenizer = "
                         f"{spec.weights}/tokenizer.json)")
    eos = spec.config.get("eos_token_id")
    eos_ids = eos if isinstance(eos, list) else [eos] if eos is not None else []
    if eos_ids and int(tokenizer["eos_id"]) not in eos_ids:
        raise ModelError(f"--model {spec.weights}: its end-of-text id is {eos}, but the shards separate documents "
                         f"with {name}: re-tokenize with the model's tokenizer, or set [tokenize] eos_token")
    mine, theirs = Path(spec.weights) / "tokenizer.json", Path(tokenizer.get("path") or "")
    if mine.is_file() and theirs.is_file() and mine.read_bytes() != theirs.read_bytes():
        from tokenizers import Tokenizer

        a = Tokenizer.from_file(str(mine)).get_vocab(with_added_tokens=True)
        b = Tokenizer.from_file(str(theirs)).get_vocab(with_added_tokens=True)
        if a != b:
            diff = sorted(set(a.items()) ^ set(b.items()), key=lambda kv: kv[1])[:1]
            raise ModelError(f"--model {spec.weights}: its tokenizer.json differs from the shards' {theirs} "
                             f"({len(a)} vs {len(b)} entries; first difference: {diff[0][0]!r} → {diff[0][1]}): "
                             "re-tokenize the corpus with the model's tokenizer")


def build_model(spec: ModelSpec, vocab_size: int, eos_id: int, seed: int, attn: str = "sdpa", device="cpu"):
    """A whole (unsharded) model on `device`: the checkpoint's weights, or seeded fresh ones.

    The training loop does the same steps with sharding in between (mmedc.train.loop.prepare_model)."""
    from mmedc.train.weights import init_fresh, load_weights, materialize, meta_model

    model, buffers = meta_model(model_config(spec, vocab_size, eos_id, attn), attn)
    materialize(model, device, buffers)
    if spec.weights:
        load_weights(model, spec.weights)
    else:
        init_fresh(model, seed, getattr(model.config, "initializer_range", 0.02))
    return model


def flops_per_token(config, seq_len: int) -> float:
    """Training FLOPs per token: 6 × parameters in matmuls + attention scores (PaLM appendix B)."""
    h, layers = config.hidden_size, config.num_hidden_layers
    kv = config.num_key_value_heads * (h // config.num_attention_heads)
    per_layer = h * h * 2 + h * kv * 2 + 3 * h * config.intermediate_size
    n = layers * per_layer + config.vocab_size * h  # lm_head (embedding lookups cost no matmul)
    return 6 * n + 12 * layers * h * seq_len


# Dense bf16 peak per GPU, by name substring; MFU is left out for other devices.
PEAK_BF16_TFLOPS = {"H200": 989.0, "H100": 989.0, "A100": 312.0, "L40S": 362.0, "A10G": 125.0}


def peak_flops(device_name: str) -> float | None:
    for key, tflops in PEAK_BF16_TFLOPS.items():
        if key in device_name:
            return tflops * 1e12
    return None
