"""PDF page layout: mmedc's text-layer reading (mmedc.extract.layout + book cleanup) next to plain
PyMuPDF `get_text()` and pymupdf4llm (pymupdf's ONNX layout model), on the same real pages, same run.

    python -m mmedc.bench pdf_layout        (needs ../shared/data/pdf, or MMEDC_DEV_DATA; skips without)
    MMEDC_BENCH_QUICK=1 leaves pymupdf4llm out (it takes most of the time).

1. docling ground truth: the PDFs of docling's test suite that have its expected Markdown
   (`docling_tests/tests/data/pdf/groundtruth/*.md`: body in reading order, tables, no page headers or
   footers). Per document: text similarity (1 − normalised word-level edit distance, markup removed) and
   reading order (of the ground truth's paragraphs found in the output, by their first 6 words: the
   share of consecutive pairs that come out in the same order), averaged over documents.
2. checks written for this project (`pdf_layout_checks.toml`) on single pages of other PDFs there:
   text that must be present, page furniture that must be absent (running heads, journal banners,
   page numbers), passages that must come in order. Each page is cut out to a one-page PDF that all
   readers get. The layout rules were tuned on the first pages of that file; the pages marked
   `set = "held-out"` were written afterwards and are reported on their own.

Speed: pages per CPU second of this process (all threads: pymupdf4llm's model runs multi-threaded)
over every page of both parts. Words are compared lower-cased, as runs of \\w characters.
"""
from __future__ import annotations

import os
import re
import tempfile
import time
import tomllib
import unicodedata
from pathlib import Path

WORD = re.compile(r"\w+")
MARKUP = re.compile(r"<!--.*?-->|\*\*==>.*?<==\*\*", re.S)
CHECKS = Path(__file__).with_name("pdf_layout_checks.toml")
KEY_WORDS = 6  # a ground-truth paragraph is found by its first words


def words(text: str) -> list[str]:
    """Lower-cased words, ligatures and other compatibility forms folded (NFKC): "ﬁ" is "fi" for every
    reader, so the figures measure layout, not ligature handling."""
    return WORD.findall(unicodedata.normalize("NFKC", MARKUP.sub(" ", text)).lower())


def _joined(ws: list[str]) -> str:
    return " " + " ".join(ws) + " "


# ---------------------------------------------------------------- readers (same page files for all)

def read_mmedc(path: Path) -> str:
    from mmedc.config import OcrConfig
    from mmedc.extract.pdf import extract_pdf

    rec = extract_pdf("bench", path, None, OcrConfig(enabled=False, book_range=False))
    return rec.text or ""


def read_plain(path: Path) -> str:
    import pymupdf

    with pymupdf.open(path) as doc:
        return "\n".join(p.get_text() for p in doc)


def read_llm(path: Path) -> str:
    import pymupdf4llm

    return pymupdf4llm.to_markdown(str(path), show_progress=False, use_ocr=False)


def read_llm_nofurniture(path: Path) -> str:
    import pymupdf4llm

    return pymupdf4llm.to_markdown(str(path), show_progress=False, use_ocr=False, header=False, footer=False)


READERS = {"mmedc": read_mmedc, "PyMuPDF get_text()": read_plain, "pymupdf4llm (default)": read_llm,
           "pymupdf4llm header/footer off": read_llm_nofurniture}
if os.environ.get("MMEDC_BENCH_QUICK"):  # while tuning: without pymupdf4llm (most of the run time)
    READERS = {k: v for k, v in READERS.items() if not k.startswith("pymupdf4llm")}


# ---------------------------------------------------------------- scores

def similarity(gt: str, out: str) -> float:
    from rapidfuzz.distance import Levenshtein

    return Levenshtein.normalized_similarity(words(gt), words(out))


def order_score(gt: str, out: str) -> tuple[float, float]:
    """(share of ground-truth paragraphs found, share of consecutive found pairs in the right order)."""
    hay = _joined(words(out))
    paras = [words(p) for p in re.split(r"\n\s*\n", MARKUP.sub(" ", gt)) if not p.lstrip().startswith("|")]
    keys = [_joined(p[:KEY_WORDS]) for p in paras if len(p) >= KEY_WORDS]
    pos = [hay.find(k) for k in keys]
    found = [p for p in pos if p >= 0]
    pairs = list(zip(found, found[1:]))
    return len(found) / max(len(keys), 1), (sum(a < b for a, b in pairs) / len(pairs) if pairs else 1.0)


def _absent_line(text: str, s: str) -> bool:
    """A page number is gone: no line is just it, and no paragraph begins or ends with it."""
    for ln in text.splitlines():
        ln = ln.strip().strip("*#_ ")
        if ln == s or ln.endswith(" " + s) or ln.startswith(s + " "):
            return False
    return True


def run_checks(text: str, check: dict) -> list[tuple[str, bool]]:
    hay = _joined(words(text))

    def has(s: str) -> bool:
        return _joined(words(s)) in hay

    out = [(f"present {s!r}", has(s)) for s in check.get("present", [])]
    out += [(f"absent {s!r}", not has(s)) for s in check.get("absent", [])]
    out += [(f"absent line {s!r}", _absent_line(text, s)) for s in check.get("absent_line", [])]
    for a, b in check.get("order", []):
        ia, ib = hay.find(_joined(words(a))), hay.find(_joined(words(b)))
        out.append((f"order {a!r} < {b!r}", 0 <= ia < ib))
    return out


# ---------------------------------------------------------------- the run

def _one_page(src: Path, page: int, dest: Path) -> Path:
    import pymupdf

    with pymupdf.open(src) as doc, pymupdf.open() as new:
        new.insert_pdf(doc, from_page=page, to_page=page)
        new.save(dest)
    return dest


def run() -> None:
    from mmedc.paths import dev_data_dir

    data = dev_data_dir()
    if data is None or not (data / "pdf").is_dir():
        print("skipped: no development data (../shared/data/pdf or MMEDC_DEV_DATA)")
        return
    os.environ.setdefault("OMP_THREAD_LIMIT", "1")
    os.environ["MMEDC_PYMUPDF_LAYOUT"] = "1"  # pymupdf4llm needs the model; mmedc does not use it

    with tempfile.TemporaryDirectory(prefix="mmedc-bench-layout-") as tmp:
        _run(data / "pdf", Path(tmp))


def _run(pdf: Path, tmp: Path) -> None:
    import pymupdf
    from rich.console import Console
    from rich.table import Table

    gt_dir = pdf / "docling_tests/tests/data/pdf/groundtruth"
    docs = [(gt_dir.parent / "sources" / f"{g.stem}.pdf", g) for g in sorted(gt_dir.glob("*.md"))]
    docs = [(p, g) for p, g in docs if p.exists()]
    checks = tomllib.loads(CHECKS.read_text())["page"]
    pages = [(_one_page(pdf / c["file"], c["page"], tmp / f"c{i}.pdf"), c) for i, c in enumerate(checks)]
    n_pages = sum(pymupdf.open(p).page_count for p, _ in docs) + len(pages)

    cpu = {k: 0.0 for k in READERS}
    sim = {k: [] for k in READERS}
    found = {k: [] for k in READERS}
    order = {k: [] for k in READERS}
    passed = {k: 0 for k in READERS}
    held = {k: 0 for k in READERS}  # of the held-out checks
    n_held = 0
    fails: dict[str, list[str]] = {k: [] for k in READERS}
    n_checks = 0
    # Reader by reader, mmedc and get_text() first: pymupdf4llm's model is loaded only after them, since
    # its onnxruntime threads go on spinning between calls and would be counted in others' CPU time.
    for name, read in READERS.items():
        if name.startswith("pymupdf4llm"):
            import pymupdf4llm  # noqa: F401 - the model loads here, outside the timings
        for path, gt in docs:
            truth = gt.read_text()
            t = time.process_time()
            out = read(path)
            cpu[name] += time.process_time() - t
            sim[name].append(similarity(truth, out))
            f, o = order_score(truth, out)
            found[name].append(f)
            order[name].append(o)
        for path, check in pages:
            t = time.process_time()
            out = read(path)
            cpu[name] += time.process_time() - t
            res = run_checks(out, check)
            passed[name] += sum(ok for _, ok in res)
            if check.get("set") == "held-out":
                held[name] += sum(ok for _, ok in res)
            fails[name] += [f"{check['file'].split('/')[-1]} p{check['page']}: {d}" for d, ok in res if not ok]
    for _, check in pages:
        n_checks += len(run_checks("", check))
        n_held += len(run_checks("", check)) if check.get("set") == "held-out" else 0

    def mean(xs):
        return sum(xs) / max(len(xs), 1)

    table = Table(title=f"PDF layout: {len(docs)} PDFs with docling ground truth, {n_checks} checks on "
                        f"{len(pages)} pages of {len({c['file'] for _, c in pages})} other PDFs; "
                        f"{n_pages} pages in all")
    for col in ("reader", "docling: text similarity", "paragraphs found", "reading order", "checks passed",
                "of them held out", "pages / CPU s"):
        table.add_column(col, justify="left" if col == "reader" else "right")
    for name in READERS:
        table.add_row(name, f"{mean(sim[name]):.3f}", f"{mean(found[name]):.3f}", f"{mean(order[name]):.3f}",
                      f"{passed[name] / max(n_checks, 1):.3f} ({passed[name]}/{n_checks})",
                      f"{held[name] / max(n_held, 1):.3f} ({held[name]}/{n_held})",
                      f"{n_pages / max(cpu[name], 1e-9):.1f}")
    Console(width=150).print(table)
    print(f"per document (similarity {' / '.join(READERS)}): " + ", ".join(
        f"{p.stem} " + "/".join(f"{sim[k][i]:.2f}" for k in READERS)
        for i, (p, _) in enumerate(docs)))
    print(f"checks mmedc fails ({len(fails['mmedc'])}): " + "; ".join(fails["mmedc"]))
    print(f"checks get_text() fails ({len(fails['PyMuPDF get_text()'])})")
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
