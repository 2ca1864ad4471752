"""GPU check of the training path: `python -m mmedc.train.gpu_check` (or `make gpu-check`).

Trains the ~1B preset (Llama 3.2 1B architecture) and, when the memory estimate fits, the 8B preset
for a few dozen steps at 8,192-token context through the real `mmedc train` path — Ray Train, NCCL,
FSDP2 with bf16 parameters and fp32 reductions, activation checkpointing, packed sequences with
document-isolated attention, held-out evaluation — on synthetic shards (random tokens in documents of
random lengths; nothing to download). Prints per model: tokens/s, MFU and peak GPU memory (medians
over the steps after the first three, which include warm-up), and writes OUT/gpu_check.json.
No checkpoint is written (an 8B one is ~100 GB of disk).

`--tiny` runs the same code on CPU (tiny-llama, short sequences, gloo) in seconds: the test suite's
proof that the script works where no GPU is present.
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

VOCAB, EOS = 128256, 128001  # Llama 3's, like the presets


def write_synthetic_shards(root: Path, tokens: int, seed: int = 0, max_doc: int = 6000) -> Path:
    """A run folder (manifest.json + shards/) of ~`tokens` random tokens in documents of 50–max_doc tokens."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    rng = np.random.default_rng(seed)
    lengths = []
    while sum(lengths) < tokens:
        lengths.append(int(np.exp(rng.uniform(np.log(50), np.log(max_doc)))))
    docs = [np.append(rng.integers(0, EOS, size=n - 1, dtype=np.int32), np.int32(EOS)) for n in lengths]
    langs = [("en", "fr", "zh")[i % 3] for i in range(len(docs))]
    table = pa.table({"id": [f"synthetic-{i}" for i in range(len(docs))], "lang": langs,
                      "source": ["synthetic"] * len(docs), "input_ids": pa.array(docs, pa.list_(pa.int32())),
                      "n_tokens": pa.array(lengths, pa.int32())})
    (root / "shards").mkdir(parents=True, exist_ok=True)
    pq.write_table(table, root / "shards" / "shard-00000-of-00001.parquet")
    by_lang = {lang: {"docs": langs.count(lang), "tokens": sum(n for n, g in zip(lengths, langs) if g == lang)}
               for lang in sorted(set(langs))}
    manifest = {"recipe": "gpu-check (synthetic)",
                "tokenizer": {"name": "synthetic", "path": "", "vocab_size": VOCAB, "eos_id": EOS, "eos_token": "<|end_of_text|>"},
                "shards": [{"file": "shards/shard-00000-of-00001.parquet", "rows": len(docs), "tokens": sum(lengths)}],
                "totals": {"docs": len(docs), "tokens": sum(lengths), "by_lang": by_lang}}
    (root / "manifest.json").write_text(json.dumps(manifest, indent=1))
    return root


def parameters(model: str) -> int:
    """Parameter count of a preset, from a meta-device model (no memory)."""
    from mmedc.train.model import model_config, resolve_model
    from mmedc.train.weights import meta_model

    m, _ = meta_model(model_config(resolve_model(model), VOCAB, EOS))
    return sum(p.numel() for p in m.parameters())


def memory_estimate_gb(model: str, gpus: int, seq_len: int, micro_batch: int) -> float:
    """Per-GPU bytes: fp32 weights + grads + AdamW's two moments sharded over the GPUs (16 B/param),
    plus, per micro-batch sequence with activation checkpointing, each layer's input in bf16, one layer
    recomputed, and the logits (bf16 + fp32 + fp32 gradient), plus 2 GB for gathered layers and the
    CUDA context. A planning figure, printed next to the measured peak."""
    from mmedc.train.model import model_config, resolve_model

    c = model_config(resolve_model(model), VOCAB, EOS)
    n = parameters(model)
    tokens = seq_len * micro_batch
    act = tokens * (c.num_hidden_layers * c.hidden_size * 2 + (10 * c.hidden_size + 3 * c.intermediate_size) * 2
                    + c.vocab_size * 10)
    return (16 * n / gpus + act) / 1e9 + 2.0


def check(model: str, shards: Path, out: Path, steps: int, device: str, workers: int, seq_len: int,
          micro_batch: int, val_fraction: float = 0.01) -> dict:
    from mmedc.train.launch import TrainError, train

    hp = {"seq_len": seq_len, "micro_batch": micro_batch, "grad_accum": 1, "lr": 2e-5, "warmup_ratio": 0.1,
          "checkpoint_every": 10**9, "eval_every": 0, "val_fraction": val_fraction, "val_tokens": seq_len}
    t0 = time.perf_counter()
    try:
        res = train(shards, model, out, steps, device=device, workers=workers, overrides=hp, strategy="fsdp",
                    activation_checkpointing=True, progress=False, final_checkpoint=False)
    except TrainError as e:
        oom = "out of memory" in str(e).lower()
        return {"model": model, "status": "out of memory" if oom else "failed", "error": str(e)[-2000:]}
    rows = res.metrics
    steady = rows[3:] if len(rows) > 4 else rows[1:] or rows
    result = {"model": model, "status": "ok", "steps": len(rows), "workers": workers, "device": device,
              "seq_len": seq_len, "tokens_per_step": workers * micro_batch * seq_len,
              "tokens_per_s": statistics.median(m["tokens_per_s"] for m in steady),
              "tokens_per_s_per_gpu": statistics.median(m["tokens_per_s"] for m in steady) / workers,
              "peak_mem_gb": max(m["peak_mem_gb"] for m in rows), "load_s": rows[0].get("load_s"),
              "first_loss": rows[0]["loss"], "last_loss": rows[-1]["loss"], "wall_s": round(time.perf_counter() - t0, 1),
              "val_loss": res.validation[-1]["val_loss"] if res.validation else None}
    if all("mfu" in m for m in steady):
        result["mfu"] = statistics.median(m["mfu"] for m in steady)
    return result


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m mmedc.train.gpu_check", description=__doc__.split("\n\n")[0])
    ap.add_argument("--models", default="llama3-1b,llama3-8b", help="presets to train, in order [%(default)s]")
    ap.add_argument("--steps", type=int, default=30, help="optimizer steps per model [%(default)s]")
    ap.add_argument("--seq-len", type=int, default=8192, help="[%(default)s]")
    ap.add_argument("--micro-batch", type=int, default=1, help="sequences per GPU per step [%(default)s]")
    ap.add_argument("--gpus", type=int, default=None, help="GPUs to use [all visible]")
    ap.add_argument("--force", action="store_true", help="try models whose memory estimate exceeds the GPU's memory")
    ap.add_argument("--tiny", action="store_true", help="CPU only: tiny-llama, 64-token sequences, 6 steps (tests the script)")
    ap.add_argument("--out", type=Path, default=None, help="where to write shards, runs and gpu_check.json [a temp folder]")
    args = ap.parse_args(argv)

    import torch

    if args.tiny:
        device, workers, gpu_gb, name = "cpu", 1, None, "CPU (--tiny)"
        models, steps, seq_len = ["tiny-llama"], min(args.steps, 6), 64
        micro = 2
    else:
        if not torch.cuda.is_available():
            print("no CUDA GPU visible: nothing to check (--tiny runs the same path on CPU)", file=sys.stderr)
            return 2
        device, workers = "cuda", args.gpus or torch.cuda.device_count()
        props = torch.cuda.get_device_properties(0)
        gpu_gb, name = props.total_memory / 1e9, f"{workers} × {props.name} ({props.total_memory / 2**30:.0f} GiB)"
        models, steps, seq_len, micro = args.models.split(","), args.steps, args.seq_len, args.micro_batch
    with tempfile.TemporaryDirectory(prefix="mmedc-gpu-check-") as tmp:
        root = (args.out or Path(tmp)).resolve()
        root.mkdir(parents=True, exist_ok=True)
        tokens = min(steps * workers * micro * seq_len * 2, 20_000_000)
        shards = write_synthetic_shards(root / "synthetic", tokens, max_doc=max(seq_len, 100))
        print(f"gpu check on {name}: {steps} steps of {workers} × {micro} × {seq_len} tokens, "
              f"{'fp32' if args.tiny else 'bf16'} FSDP2, activation checkpointing; synthetic shards of {tokens:,} tokens",
              flush=True)
        results = []
        for model in models:
            n = parameters(model)
            est = memory_estimate_gb(model, workers, seq_len, micro)
            if gpu_gb is not None and est > 0.95 * gpu_gb and not args.force:
                results.append({"model": model, "status": "skipped", "params": n, "estimate_gb": round(est, 1),
                                "reason": f"needs ~{est:.0f} GB per GPU on {workers} GPU(s), the GPU has {gpu_gb:.0f} GB "
                                          "(--force tries anyway)"})
            else:
                r = check(model, shards, root / "runs" / model, steps, device, workers, seq_len, micro,
                          0.3 if args.tiny else 0.01)
                results.append({**r, "params": n, "estimate_gb": round(est, 1)})
            print(json.dumps(results[-1]), flush=True)
        (root / "gpu_check.json").write_text(json.dumps({"device": name, "results": results}, indent=1))
        print(f"\n{'model':<12} {'params':>8} {'status':<14} {'tokens/s':>10} {'tok/s/GPU':>10} {'MFU':>6} "
              f"{'peak GB':>8} {'est. GB':>8} {'loss':>14}")
        for r in results:
            ok = r["status"] == "ok"
            mfu = f"{r['mfu']:.1%}" if ok and "mfu" in r else "–"
            note = f"{r['first_loss']:.2f} → {r['last_loss']:.2f}" if ok else r.get("reason", r.get("error", ""))[:80]
            print(f"{r['model']:<12} {r['params'] / 1e9:>7.2f}B {r['status']:<14} "
                  f"{r['tokens_per_s'] if ok else 0:>10,.0f} {r['tokens_per_s_per_gpu'] if ok else 0:>10,.0f} "
                  f"{mfu:>6} {r['peak_mem_gb'] if ok else 0:>8.1f} {r['estimate_gb']:>8.1f} {note:>14}")
        print(f"results: {root / 'gpu_check.json'}" if args.out else "")
    return 0 if all(r["status"] in ("ok", "skipped") for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
