"""Hostile inputs through a whole run (`python -m mmedc.bench hostile`): seconds and peak memory
(VmHWM of a fresh process running the recipe with the in-process executor, reset after the models
and the tokenizer are loaded; models_mb = the RSS peak of loading them) for decompression
bombs, a 200 MB document, millions of lines in one gzip and /dev/zero, next to the same run over a
small ordinary file (the baseline: imports, models and the tokenizer). Inputs are generated in a
temporary folder; the 10 GiB line costs ~10 MB of disk (repeated gzip members)."""
from __future__ import annotations

import gzip
import json
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

CHILD = """
import json, resource, sys, time
from mmedc.config import load_recipe
from mmedc.engine.runner import RunError, run, validate
from mmedc.executor import LocalExecutor
recipe = load_recipe(sys.argv[1])
validate(recipe)  # models and tokenizer loaded: their peak is not the input's
from mmedc.classify.langid import load_model
load_model(recipe.langid.model)
loaded = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
open("/proc/self/clear_refs", "w").write("5")  # resets the peak (VmHWM) to the current RSS
t0 = time.time()
try:
    run(recipe, sys.argv[2], executor=LocalExecutor(), progress=False)
    end = "ok"
except RunError as e:
    end = str(e)[:90]
hwm = int([l for l in open("/proc/self/status") if l.startswith("VmHWM:")][0].split()[1]) // 1024
import polars as pl
a = pl.read_parquet(sys.argv[2] + "/audit/ingest/*.parquet")
reasons = a.filter(pl.col("decision") == "failed")["reason"].str.slice(0, 60).unique().to_list()
print(json.dumps({"seconds": round(time.time() - t0, 1), "models_mb": loaded, "run_peak_mb": hwm,
                  "rows": a.height, "failed": reasons[:2], "end": end}))
"""


def _recipe(root: Path, name: str, path: str, kind: str = "jsonl", limits: str = "") -> Path:
    r = root / f"{name}.toml"
    r.write_text(textwrap.dedent(f"""
        [pipeline]
        languages = ["en", "fr"]
        [[sources]]
        name = "{name}"
        kind = "{kind}"
        paths = ["{path}"]
        """) + limits)
    return r


def _inputs(root: Path) -> list[tuple[str, Path]]:
    from mmedc.sample.build import all_docs

    docs = [d for d in all_docs() if d["lang"] in ("en", "fr")]
    (root / "base.jsonl").write_text("".join(json.dumps({"id": d["id"], "text": d["text"]}) + "\n" for d in docs))
    block = gzip.compress(b"a" * (64 << 20), compresslevel=9)
    with open(root / "bomb.jsonl.gz", "wb") as f:  # one line of 10 GiB
        f.write(gzip.compress(b'{"id": "huge", "text": "'))
        for _ in range(160):
            f.write(block)
        f.write(gzip.compress(b'"}\n'))
    with gzip.open(root / "lines.jsonl.gz", "wt", compresslevel=1) as f:  # 2.8 million short lines
        for i in range(2_800_000):
            f.write(f'{{"id": {i}, "text": ""}}\n')
    with open(root / "doc200.jsonl", "w") as f:  # one document of 200 MB
        f.write('{"id": "big", "text": "' + "word " * (40 << 20) + '"}\n')
    import pyarrow as pa
    import pyarrow.parquet as pq

    pq.write_table(pa.table({"id": ["big", "small"], "text": ["word " * (40 << 20), docs[0]["text"]]}),
                   root / "doc200.parquet", compression="zstd")
    return [
        ("baseline: 9 ordinary documents", _recipe(root, "base", "base.jsonl")),
        ("10 GiB single-line .jsonl.gz (10 MB)", _recipe(root, "bomb", "bomb.jsonl.gz")),
        ("2.8 million lines in one .jsonl.gz", _recipe(root, "lines", "lines.jsonl.gz")),
        ("200 MB document, .jsonl (default limits)", _recipe(root, "doc", "doc200.jsonl")),
        ("200 MB document, .jsonl, max_line_bytes 256 MiB", _recipe(
            root, "doc2", "doc200.jsonl", limits="[limits]\nmax_line_bytes = 268435456\n")),
        ("200 MB text cell, .parquet", _recipe(root, "pq", "doc200.parquet", kind="parquet")),
        ("paths = [\"/dev/zero\"]", _recipe(root, "zero", "/dev/zero")),
    ]


def run():
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        print("generating inputs ...", flush=True)
        for label, recipe in _inputs(root):
            p = subprocess.run([sys.executable, "-c", CHILD, str(recipe), str(root / f"out-{recipe.stem}")],
                               capture_output=True, text=True, timeout=1800)
            res = json.loads(p.stdout.strip().splitlines()[-1]) if p.returncode == 0 else {"error": p.stderr[-300:]}
            print(f"{label:<50} {json.dumps(res, ensure_ascii=False)}", flush=True)


if __name__ == "__main__":
    run()
