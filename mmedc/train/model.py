"""Models for the pretraining stage: a Llama built from a config file, or a local checkpoint folder.

`--model` is one of
  - a bundled preset name (`tiny-llama`, `llama3-8b`: mmedc/train/configs/<name>.json),
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
TRAIN_DEFAULTS = {"seq_len": 8192, "micro_batch": 1, "grad_accum": 1, "lr": 2e-5, "warmup_ratio": 0.01,
                  "weight_decay": 0.01, "checkpoint_every": 200}


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
        return ModelSpec(p.name, json.loads(cfg.read_text()), weights=str(p.resolve()), train=dict(TRAIN_DEFAULTS))
    if not p.is_file():
        names = sorted(f.stem for f in CONFIGS.glob("*.json"))
        raise ModelError(f"--model {spec}: not a preset ({', '.join(names)}), a config JSON or a checkpoint folder")
    data = json.loads(p.read_text())
    if "model" in data:
        return ModelSpec(p.stem, data["model"], train={**TRAIN_DEFAULTS, **data.get("train", {})})
    return ModelSpec(p.stem, data, train=dict(TRAIN_DEFAULTS))


def build_model(spec: ModelSpec, vocab_size: int, eos_id: int, seed: int, attn: str = "sdpa"):
    """A causal LM whose vocabulary covers the shards' tokenizer; fresh weights come from `seed`."""
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM

    if spec.weights:
        model = AutoModelForCausalLM.from_pretrained(spec.weights, local_files_only=True, attn_implementation=attn,
                                                     dtype=torch.float32)
        if model.get_input_embeddings().num_embeddings < vocab_size:
            raise ModelError(f"{spec.weights}: embeddings for {model.get_input_embeddings().num_embeddings} tokens, "
                             f"the shards' tokenizer has {vocab_size}")
        return model
    fields = dict(spec.config)
    model_type = fields.pop("model_type", "llama")
    fields = {k: v for k, v in fields.items() if not k.startswith("_")}
    fields.update(vocab_size=vocab_size, eos_token_id=eos_id, use_cache=False)
    config = AutoConfig.for_model(model_type, **fields)
    config._attn_implementation = attn
    torch.manual_seed(seed)  # every worker builds the same initial weights
    return AutoModelForCausalLM.from_config(config, attn_implementation=attn, dtype=torch.float32)


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
