"""`mmedc train export`: a training checkpoint (torch.distributed.checkpoint) → a Hugging Face folder.

The folder holds what evaluation harnesses and serving tools load with `from_pretrained`: config.json,
model.safetensors (or shards + index), generation_config.json, the tokenizer files, and a README.md
model card with the data manifest's token table, the training settings and the held-out loss per
language. Only the model part of the checkpoint is read (not the optimizer state).
"""
from __future__ import annotations

import json
import shutil
from pathlib import Path

from mmedc.train.loop import STATE_FILE

TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json")


class ExportError(ValueError):
    pass


def find_checkpoint(path: str | Path) -> Path:
    """A checkpoint folder (…/step-NNNNNN, holding trainer_state.json), or a training --out folder (its latest)."""
    from mmedc.train.launch import latest_checkpoint

    p = Path(path).expanduser().resolve()
    if (p / STATE_FILE).is_file():
        return p
    if (p / "checkpoints").is_dir():
        found = latest_checkpoint(p)
        if found is not None:
            return found
    raise ExportError(f"{path}: not a checkpoint (no {STATE_FILE}) nor a training folder holding one")


def _train_config(ckpt: Path, state: dict) -> dict:
    if "config" in state:
        return state["config"]
    old = ckpt.parents[2] / "train_config.json"  # OUT/checkpoints/run-NNN/step-NNNNNN
    if old.is_file():
        return json.loads(old.read_text())
    raise ExportError(f"{ckpt}: no training settings in {STATE_FILE} nor {old}")


def _manifest(cfg: dict) -> dict | None:
    from mmedc.train.data import ShardsError, load_shards

    try:
        return load_shards(cfg["shards"]).manifest
    except (ShardsError, KeyError, OSError):
        return None


def load_checkpoint_model(ckpt: Path, cfg: dict, manifest: dict | None):
    """The checkpoint's model, whole, on CPU in fp32 (parameters only are read from the DCP folder)."""
    import torch.distributed.checkpoint as dcp
    from torch.distributed.checkpoint.state_dict import get_model_state_dict, set_model_state_dict
    from transformers import AutoConfig

    from mmedc.train.model import model_config, resolve_model
    from mmedc.train.weights import materialize, meta_model

    if (ckpt / "config.json").is_file():
        config = AutoConfig.from_pretrained(str(ckpt), local_files_only=True)
    elif manifest is not None:
        tok = manifest["tokenizer"]
        config = model_config(resolve_model(cfg["model"]), int(tok["vocab_size"]), int(tok["eos_id"]))
    else:
        raise ExportError(f"{ckpt}: no config.json and the shards' manifest is gone: the architecture is unknown")
    config.use_cache = True  # for generation once exported
    model, buffers = meta_model(config)
    materialize(model, "cpu", buffers)
    state = {"model": get_model_state_dict(model)}
    dcp.load(state, checkpoint_id=str(ckpt))
    set_model_state_dict(model, state["model"])
    return model.eval()


def _tokenizer_source(cfg: dict, manifest: dict | None) -> tuple[Path, bool]:
    """Where the tokenizer files come from: (folder of the --model checkpoint, True) or (the shards'
    tokenizer.json, False). Resolved before anything is written."""
    from mmedc.train.model import ModelError, resolve_model

    try:
        spec = resolve_model(cfg["model"])
    except ModelError:
        spec = None
    if spec is not None and spec.weights and (Path(spec.weights) / "tokenizer.json").is_file():
        return Path(spec.weights), True
    if manifest is None:
        raise ExportError("the shards' manifest.json (which names the tokenizer) is gone; no tokenizer to export")
    tok = manifest["tokenizer"]
    path = Path(tok.get("path") or "")
    if not path.is_file():
        from mmedc.shards.tokenizer import TokenizerError, resolve_tokenizer_path

        try:
            path = resolve_tokenizer_path(tok["name"])
        except TokenizerError as e:
            raise ExportError(f"the shards' tokenizer {tok.get('path')} is not on this machine: {e}") from e
    return path, False


def _write_tokenizer(source: Path, from_model: bool, cfg: dict, manifest: dict | None, out: Path):
    if from_model:
        for name in TOKENIZER_FILES:
            if (source / name).is_file():
                shutil.copy(source / name, out / name)
        return
    tok = manifest["tokenizer"]
    shutil.copy(source, out / "tokenizer.json")
    (out / "tokenizer_config.json").write_text(json.dumps({
        "tokenizer_class": "PreTrainedTokenizerFast", "eos_token": tok["eos_token"],
        "model_max_length": cfg.get("train", {}).get("seq_len", 8192), "clean_up_tokenization_spaces": False,
    }, indent=2) + "\n")


def _table(header: list[str], rows: list[list]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(" --- " for _ in header) + "|"]
    return "\n".join(lines + ["| " + " | ".join(str(c) for c in r) + " |" for r in rows])


def model_card(name: str, cfg: dict, state: dict, manifest: dict | None, val_rows: list[dict],
               validation: dict | None, tokenizer_from: str) -> str:
    hp = cfg.get("train", {})
    step, steps = state["step"], cfg.get("steps")
    gb = state.get("data", {}).get("global_batch")
    langs = sorted((manifest or {}).get("totals", {}).get("by_lang", {}))
    base = cfg["model"]
    front = ["---", "library_name: transformers", "pipeline_tag: text-generation", "tags: [medical, mmedc]"]
    if langs:
        front.append(f"language: [{', '.join(langs)}]")
    parts = ["\n".join(front + ["---"]), f"# {name}",
             f"A causal language model trained with `mmedc train` on tokenized MMedC shards, starting from "
             f"`{base}`. This folder is step {step:,} of {steps:,} ({step * gb * hp.get('seq_len', 0):,} training "
             f"tokens seen), exported by `mmedc train export`." if gb else f"Step {step} of `{base}`."]
    if manifest:
        tot = manifest["totals"]
        rows = [[lang, f"{v['docs']:,}", f"{v['tokens']:,}", f"{v['tokens'] / max(tot['tokens'], 1):.1%}"]
                for lang, v in tot["by_lang"].items()]
        rows.append(["**all**", f"{tot['docs']:,}", f"{tot['tokens']:,}", "100%"])
        tok = manifest["tokenizer"]
        parts += ["## Training data",
                  f"Shards of recipe `{manifest.get('recipe', '?')}` (manifest fingerprint "
                  f"`{str(manifest.get('fingerprint', '?'))[:16]}`), tokenizer `{tok.get('name')}` (vocabulary "
                  f"{tok['vocab_size']:,}, documents separated by {tok['eos_token']!r} = {tok['eos_id']}).",
                  _table(["language", "documents", "tokens", "share"], rows)]
        if tot.get("by_source"):
            parts.append(_table(["source", "documents", "tokens"],
                                [[s, f"{v['docs']:,}", f"{v['tokens']:,}"] for s, v in tot["by_source"].items()]))
    cuda = cfg.get("device") == "cuda"
    settings = [
        ["model", f"`{base}`" + (f", preset `{cfg['preset']}`" if cfg.get("preset") else "")],
        ["sequence length", f"{hp.get('seq_len'):,} tokens, documents packed with EOS between them, attention kept inside documents"],
        ["global batch", f"{gb} sequences = {hp.get('micro_batch')} micro-batch × workers × {hp.get('grad_accum')} accumulation"],
        ["optimizer", f"AdamW (β 0.9, 0.95), peak lr {hp.get('lr')}, cosine, {hp.get('warmup_ratio', 0):.0%} warm-up, "
                      f"weight decay {hp.get('weight_decay')}, gradient clipping 1.0"],
        ["steps", f"{step:,} of {steps:,}"],
        ["precision", "bf16 parameters in compute, fp32 master weights and reductions" if cuda else "fp32"],
        ["parallelism", f"{cfg.get('strategy')} on {cfg.get('device')}" +
                        (", activation checkpointing" if cfg.get("activation_checkpointing") else "")],
        ["held out", f"{hp.get('val_fraction', 0):.2%} of documents by id hash"],
        ["seed", str(cfg.get("seed"))],
    ]
    parts += ["## Training settings", _table(["setting", "value"], settings)]
    if val_rows:
        vlangs = sorted({lang for r in val_rows for lang in r["val_loss"]})
        parts += ["## Held-out loss per language",
                  "Mean next-token loss (nats) on held-out documents of each language, never trained on.",
                  _table(["step"] + vlangs, [[r["step"]] + [f"{r['val_loss'][lang]:.4f}" if lang in r["val_loss"] else "–"
                                                              for lang in vlangs] for r in val_rows])]
        if validation:
            parts.append(_table(["language", "held-out documents", "held-out tokens", "tokens evaluated"],
                                [[lang, v["held_out_docs"], f"{v['held_out_tokens']:,}", f"{v['eval_tokens']:,}"]
                                 for lang, v in validation.items()]))
    parts += ["## Files", f"Tokenizer from `{tokenizer_from}`. Load with "
              "`AutoModelForCausalLM.from_pretrained(folder)` and `AutoTokenizer.from_pretrained(folder)`."]
    return "\n\n".join(parts) + "\n"


def export(checkpoint: str | Path, out: str | Path, dtype: str = "float32", max_shard_size: str = "5GB") -> Path:
    """Write the Hugging Face folder; returns its path."""
    import torch

    from mmedc.train.launch import read_metrics

    if dtype not in ("float32", "bfloat16", "float16"):
        raise ExportError(f"--dtype {dtype}: float32, bfloat16 or float16")
    ckpt = find_checkpoint(checkpoint)
    state = json.loads((ckpt / STATE_FILE).read_text())
    cfg = _train_config(ckpt, state)
    manifest = _manifest(cfg)
    out = Path(out).expanduser().resolve()
    if out.exists() and any(out.iterdir()):
        raise ExportError(f"{out} exists and is not empty")
    tok_source, from_model = _tokenizer_source(cfg, manifest)
    model = load_checkpoint_model(ckpt, cfg, manifest)
    out.mkdir(parents=True, exist_ok=True)
    model.to(getattr(torch, dtype)).save_pretrained(str(out), max_shard_size=max_shard_size)
    _write_tokenizer(tok_source, from_model, cfg, manifest, out)
    tokenizer_from = str(tok_source)
    run = Path(cfg.get("out", ckpt.parents[2]))
    val_rows = [r for r in read_metrics(run) if "val_loss" in r and r["step"] <= state["step"]]
    if len(val_rows) > 12:  # the first, then evenly spaced, always the last
        picked = val_rows[:: -(-len(val_rows) // 11)]
        val_rows = picked + ([val_rows[-1]] if picked[-1] is not val_rows[-1] else [])
    vfile = run / "validation.json"
    validation = json.loads(vfile.read_text()) if vfile.is_file() else None
    (out / "README.md").write_text(model_card(out.name, cfg, state, manifest, val_rows, validation, tokenizer_from))
    return out
