"""HTML extraction: mmedc's (mmedc.extract.html.extract_html) next to plain trafilatura, same pages, same run.

Pages: ../shared/data/html/trafilatura_eval (real pages, each with must-include `with` and must-exclude
`without` snippets). Quality, token-weighted: a snippet counts as found when its word sequence appears
in the output's word sequence; a found `with` snippet adds its words to true positives (missed: false
negatives), a found `without` snippet adds its words to false positives. F1 over all pages. The
snippet-level figures (each snippet counts once, as in trafilatura's own evaluation) are printed too.
Speed: CPU seconds (process time, so other users of the machine count less), the two extractors
alternating over the same blocks of pages. Targets: quality ≥ 0.98x and speed ≥ 0.9x trafilatura's.

Also: WARC parsing speed, warcio (used) vs fastwarc, on a WARC of project-written pages.
"""
from __future__ import annotations

import gzip
import io
import json
import re
import time
from pathlib import Path

WORD = re.compile(r"\w+")
BLOCK = 16


def words(text: str | None) -> str:
    return " " + " ".join(WORD.findall((text or "").lower())) + " "


class Score:
    def __init__(self):
        self.tp = self.fp = self.fn = 0  # token-weighted
        self.stp = self.sfp = self.sfn = 0  # snippet-level

    def add(self, text: str | None, must: list[str], must_not: list[str]):
        out = words(text)
        for s in must:
            n, found = len(WORD.findall(s.lower())), words(s) in out
            self.tp, self.fn = self.tp + n * found, self.fn + n * (not found)
            self.stp, self.sfn = self.stp + found, self.sfn + (not found)
        for s in must_not:
            n, found = len(WORD.findall(s.lower())), words(s) in out
            self.fp += n * found
            self.sfp += found

    @staticmethod
    def _prf(tp, fp, fn):
        p = tp / (tp + fp) if tp + fp else 0.0
        r = tp / (tp + fn) if tp + fn else 0.0
        return p, r, (2 * p * r / (p + r) if p + r else 0.0)

    def token(self):
        return self._prf(self.tp, self.fp, self.fn)

    def snippet(self):
        return self._prf(self.stp, self.sfp, self.sfn)


def load_pages(root: Path) -> list[tuple[bytes, list[str], list[str]]]:
    ev = json.loads((root / "evaldata_subset.json").read_text())
    return [(gzip.decompress((root / v["path"]).read_bytes()), v.get("with", []), v.get("without", []))
            for v in ev.values() if v.get("with") or v.get("without")]


def bench_extraction(pages) -> dict:
    import trafilatura

    from mmedc.extract.html import extract_html

    def plain(raw):
        return trafilatura.extract(raw)

    def mmedc(raw):
        rec = extract_html("bench", raw)
        return rec.text

    runners = {"trafilatura": plain, "mmedc": mmedc}
    scores = {k: Score() for k in runners}
    cpu = {k: 0.0 for k in runners}
    for f in runners.values():  # warm-up: imports, lazy tables
        f(pages[0][0])
    for b, start in enumerate(range(0, len(pages), BLOCK)):
        block = pages[start:start + BLOCK]
        order = list(runners) if b % 2 == 0 else list(reversed(runners))  # alternate who goes first
        for name in order:
            outs = []
            t0 = time.process_time()
            for raw, _, _ in block:
                outs.append(runners[name](raw))
            cpu[name] += time.process_time() - t0
            for text, (_, must, must_not) in zip(outs, block):
                scores[name].add(text, must, must_not)
    return {k: {"token": scores[k].token(), "snippet": scores[k].snippet(), "pages_s": len(pages) / cpu[k]}
            for k in runners}


def bench_warc_parsing(n: int = 3000) -> dict:
    import tempfile

    from fastwarc.warc import ArchiveIterator as FastIterator
    from fastwarc.warc import WarcRecordType
    from warcio.archiveiterator import ArchiveIterator

    from mmedc.sample.build import html_page, write_warc
    from mmedc.sample.texts import MEDICAL
    from mmedc.sources.warc_headers import bounded_iterator

    text = " ".join(t for _, _, t in MEDICAL["en"])
    with tempfile.TemporaryDirectory() as d:
        p = Path(d) / "bench.warc.gz"
        write_warc(p, [(f"https://example.org/{i}", html_page(f"Page {i}", text, "en")) for i in range(n)])
        data = p.read_bytes()

        def warcio():
            return sum(len(r.content_stream().read()) for r in ArchiveIterator(io.BytesIO(data))
                       if r.rec_type == "response")

        def bounded():  # what mmedc reads with: warcio, header lines read by mmedc (linear, bounded)
            return sum(len(r.content_stream().read()) for r in bounded_iterator(io.BytesIO(data))
                       if r.rec_type == "response")

        def fastwarc():
            return sum(len(r.reader.read()) for r in FastIterator(io.BytesIO(data), record_types=WarcRecordType.response,
                                                                  parse_http=True, auto_decode="all"))

        out = {}
        for name, f in (("warcio", warcio), ("bounded", bounded), ("fastwarc", fastwarc)) * 2:
            t0 = time.process_time()
            f()
            out[name] = max(out.get(name, 0.0), (n + 1) / (time.process_time() - t0))
        return out


def run():
    from rich.console import Console
    from rich.table import Table

    from mmedc.paths import dev_data_dir

    console = Console()
    data = dev_data_dir()
    root = data / "html" / "trafilatura_eval" if data else None
    if root is None or not root.is_dir():
        console.print("skipped HTML extraction: ../shared/data/html/trafilatura_eval not present (MMEDC_DEV_DATA)")
    else:
        pages = load_pages(root)
        r = bench_extraction(pages)
        t = Table(title=f"HTML extraction on {len(pages)} annotated real pages (trafilatura_eval), same run")
        for c in ("extractor", "token P", "token R", "token F1", "snippet F1", "pages/s (CPU)"):
            t.add_column(c, justify="right" if c != "extractor" else "left")
        for name in ("trafilatura", "mmedc"):
            p, rc, f1 = r[name]["token"]
            t.add_row(name, f"{p:.3f}", f"{rc:.3f}", f"{f1:.3f}", f"{r[name]['snippet'][2]:.3f}", f"{r[name]['pages_s']:.1f}")
        q = r["mmedc"]["token"][2] / r["trafilatura"]["token"][2]
        s = r["mmedc"]["pages_s"] / r["trafilatura"]["pages_s"]
        t.add_row("mmedc / trafilatura", "", "", f"{q:.3f}x", "", f"{s:.2f}x")
        console.print(t)
        console.print(f"targets: quality >= 0.98x: {'met' if q >= 0.98 else 'NOT met'}; "
                      f"speed >= 0.9x: {'met' if s >= 0.9 else 'NOT met'}")
    w = bench_warc_parsing()
    t = Table(title="WARC parsing (3000 gzip response records, payload read), records/s CPU")
    t.add_column("reader")
    t.add_column("records/s", justify="right")
    labels = {"warcio": "warcio", "bounded": "warcio, bounded header reading (used)", "fastwarc": "fastwarc"}
    for name, v in w.items():
        t.add_row(labels[name], f"{v:,.0f}")
    console.print(t)
    console.print("warcio is kept: it reads ARC files and recovers records fastwarc rejects; parsing is <1% of "
                  "the time spent extracting a page's text.")
