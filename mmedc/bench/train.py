"""Tokenization and the training data path, each next to its baseline measured in the same run.

1. Tokenization: mmedc's tokenize path (LoadedTokenizer.encode, what the finalize stage calls, batches of
   [tokenize] batch_size) next to raw `tokenizers` Tokenizer.encode_batch on the same texts and batches.
2. Data loader: packed sequences (PackedSequences, reading Parquet shards written from those tokens) in
   tokens/s, next to the tiny Llama's consumption rate (forward + backward + AdamW step on this CPU).
3. Loading a checkpoint folder (~0.6 GB fp32 safetensors): mmedc's meta-device build + byte-range reads
   (what each training rank does, here unsharded) next to transformers' from_pretrained, each in a fresh
   process, until every parameter has been read once: seconds and peak RSS above the process's
   baseline after imports (transformers' parameters stay file-mapped pages; mmedc's are copied into
   the rank's own memory, as sharding and training need).

Text: /work/shared/data/text/dev.jsonl.gz when present (every k-th record, ~3 M characters, all languages),
else the embedded sample.
Run: `python -m mmedc.bench train` (or `make bench BENCH=train`).
"""
from __future__ import annotations

import gzip
import json
import tempfile
from pathlib import Path

from mmedc.bench.timing import best_of
from mmedc.paths import dev_data_dir

MAX_CHARS = 3_000_000


def _texts() -> tuple[list[str], str]:
    d = dev_data_dir()
    if d and (d / "text" / "dev.jsonl.gz").exists():
        with gzip.open(d / "text" / "dev.jsonl.gz", "rt") as f:
            texts = [json.loads(line)["text"] for line in f]
        stride = -(-sum(map(len, texts)) // MAX_CHARS)  # every k-th record: all sets and languages
        texts = texts[::stride]
        return texts, "dev.jsonl.gz"
    from mmedc.sample.texts import GENERAL, MEDICAL

    texts = [entry[-1] for group in (MEDICAL, GENERAL) for docs in group.values() for entry in docs]
    return texts * 50, "embedded sample (× 50)"


def _row(name, value, unit, note=""):
    print(f"  {name:<44} {value:>14,.0f} {unit:<9} {note}")


def bench_tokenize(texts: list[str]):
    from mmedc.config import TokenizeConfig
    from mmedc.shards.tokenizer import load_tokenizer

    tok = load_tokenizer(TokenizeConfig().tokenizer)
    bs = TokenizeConfig().batch_size
    batches = [texts[i:i + bs] for i in range(0, len(texts), bs)]
    ids = [x for b in batches for x in tok.encode(b)]  # warm-up, and the tokens for the data loader
    n_tokens = sum(map(len, ids))
    raw, _ = best_of(lambda: [tok.tokenizer.encode_batch(b, add_special_tokens=False) for b in batches])
    ours, _ = best_of(lambda: [tok.encode(b) for b in batches])
    print(f"tokenization ({tok.name}, {len(texts):,} texts, {n_tokens:,} tokens, batches of {bs}; best of 3)")
    _row("raw tokenizers encode_batch (baseline)", n_tokens / raw, "tokens/s")
    _row("mmedc tokenize path (LoadedTokenizer.encode)", n_tokens / ours, "tokens/s", f"{raw / ours:.2f}× baseline (target ≥ 0.8×)")
    return tok, ids


def bench_loader(tok, ids: list[list[int]]):
    import pyarrow as pa
    import pyarrow.parquet as pq
    import torch

    from mmedc.train.data import PackedSequences, load_shards
    from mmedc.train.model import build_model, resolve_model

    spec = resolve_model("tiny-llama")
    seq_len, micro = spec.train["seq_len"], spec.train["micro_batch"]
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "shards").mkdir()
        shards = []
        for j, part in enumerate((ids[: len(ids) // 2], ids[len(ids) // 2:])):
            t = pa.table({"input_ids": pa.array(part, pa.list_(pa.int32())),
                          "n_tokens": pa.array([len(x) for x in part], pa.int32())})
            pq.write_table(t, root / "shards" / f"s{j}.parquet")
            shards.append({"file": f"shards/s{j}.parquet", "rows": len(part), "tokens": sum(map(len, part))})
        (root / "manifest.json").write_text(json.dumps({"tokenizer": tok.info(), "shards": shards}))
        seqs = PackedSequences(load_shards(root), seq_len)
        n_batches = seqs.per_epoch // micro

        def epoch():
            for b in range(n_batches):
                seqs.batch(b * micro, micro)

        t_load, _ = best_of(epoch, 2)
        sample_batch = seqs.batch(0, micro)
    load_rate = n_batches * micro * seq_len / t_load

    model = build_model(spec, tok.vocab_size, tok.eos_id, seed=0)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    batch = {k: torch.from_numpy(v) for k, v in sample_batch.items()}

    def step():
        loss = model(**batch, use_cache=False).loss
        loss.backward()
        opt.step()
        opt.zero_grad(set_to_none=True)

    step()
    steps = 5
    t_model, _ = best_of(lambda: [step() for _ in range(steps)], 1)
    model_rate = steps * micro * seq_len / t_model
    print(f"training data path (tiny-llama preset: {micro} × {seq_len} tokens per batch, {torch.get_num_threads()} torch threads)")
    _row("tiny Llama consumption (fwd+bwd+AdamW, baseline)", model_rate, "tokens/s")
    _row("packed data loader (Parquet → batches)", load_rate, "tokens/s", f"{load_rate / model_rate:,.0f}× what the model consumes")
    _row("tokens packed", n_batches * micro * seq_len, "tokens", f"{seqs.wasted_tokens} left in the last partial sequence")


_LOAD_SNIPPET = """
import sys, time, torch
from transformers import AutoConfig, AutoModelForCausalLM, LlamaForCausalLM  # imports outside the timing
from mmedc.train.loop import peak_rss_bytes
from mmedc.train.model import build_model, resolve_model
base = peak_rss_bytes()
t0 = time.perf_counter()
if sys.argv[1] == "mmedc":
    m = build_model(resolve_model(sys.argv[2]), 128256, 128001, 0)
else:
    m = AutoModelForCausalLM.from_pretrained(sys.argv[2], dtype=torch.float32)
with torch.no_grad():  # touch every parameter: transformers maps the file lazily
    sum(float(p.sum()) for p in m.parameters())
dt = time.perf_counter() - t0
print(dt, peak_rss_bytes() - base)
"""


def bench_load():
    import os
    import subprocess
    import sys

    import torch
    from transformers import AutoConfig, AutoModelForCausalLM

    from mmedc.train.weights import checkpoint_bytes

    with tempfile.TemporaryDirectory() as tmp:
        config = AutoConfig.for_model("llama", hidden_size=512, intermediate_size=1536, num_hidden_layers=4,
                                      num_attention_heads=8, num_key_value_heads=2, vocab_size=128256,
                                      eos_token_id=128001, tie_word_embeddings=False)
        AutoModelForCausalLM.from_config(config, dtype=torch.float32).save_pretrained(tmp)
        size = checkpoint_bytes(tmp)
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
        figures = {}
        for who in ("transformers", "mmedc"):
            best = None
            for _ in range(2):
                out = subprocess.run([sys.executable, "-c", _LOAD_SNIPPET, who, tmp], capture_output=True, text=True,
                                     env=env, check=True).stdout.split()
                dt, rss = float(out[-2]), int(out[-1])
                best = (dt, rss) if best is None or dt < best[0] else best
            figures[who] = best
    print(f"loading a checkpoint folder ({size / 1e9:.2f} GB fp32 safetensors, whole model in one process; best of 2)")
    t_hf, rss_hf = figures["transformers"]
    t_me, rss_me = figures["mmedc"]
    _row("transformers from_pretrained (baseline)", t_hf * 1000, "ms", f"peak RSS +{rss_hf / 1e9:.2f} GB")
    _row("mmedc meta build + byte-range reads", t_me * 1000, "ms",
         f"peak RSS +{rss_me / 1e9:.2f} GB; {t_hf / t_me:.2f}× baseline speed")


def run():
    texts, where = _texts()
    print(f"text: {where}")
    tok, ids = bench_tokenize(texts)
    bench_loader(tok, ids)
    bench_load()
