"""`mmedc extract FILE... -o OUT.jsonl`: documents out of HTML, WARC/ARC and PDF files, one JSON line each."""
from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer

KINDS = {".html": "html", ".htm": "html", ".xhtml": "html", ".warc": "warc", ".arc": "warc", ".pdf": "pdf"}


def kind_of(path: Path) -> str | None:
    name = path.name.lower()
    name = name[:-3] if name.endswith(".gz") else name
    return KINDS.get(Path(name).suffix)


def output_line(rec, source: str, file: str) -> dict:
    """kept → text + metadata; failed → `error`; dropped (non-HTML record, no main text) → `dropped`."""
    base = {"id": rec.id, "url": rec.url, "source": source, "file": file}
    if rec.decision == "kept":
        return {**base, "text": rec.text, **{k: v for k, v in rec.meta.items() if k not in base}}
    key = "error" if rec.decision == "failed" else "dropped"
    return {**base, key: rec.reason, **{k: v for k, v in rec.meta.items() if k not in base}}


def records_of(path: Path, source: str, lang: str | None, ocr, kind: str, limits=None):
    from mmedc.config import SourceConfig
    from mmedc.sources import read_file

    return read_file(SourceConfig(source, kind, [str(path)], lang=lang), path, ocr, limits=limits)


def register(app: typer.Typer):
    from mmedc.config import LimitsConfig

    @app.command()
    def extract(
        files: List[Path] = typer.Argument(..., help="HTML (.html/.htm[.gz]), WARC/ARC (.warc/.arc[.gz]) or PDF files; folders are walked."),
        out: Path = typer.Option(..., "--out", "-o", help="Output JSONL file ('-' for stdout)."),
        source: str = typer.Option("extract", "--source", help="Source name written in each record and its id prefix."),
        lang: Optional[str] = typer.Option(None, "--lang", show_default="not set", help="Known language of PDFs (picks the OCR languages)."),
        ocr: bool = typer.Option(True, "--ocr/--no-ocr", help="OCR scanned PDF pages with tesseract."),
        dpi: int = typer.Option(300, "--dpi", help="Rendering resolution for OCR."),
        max_pdf_bytes: int = typer.Option(LimitsConfig.max_pdf_bytes, "--max-pdf-bytes", min=1, help="Largest PDF read from a WARC (as [limits] max_pdf_bytes); a larger one is an error line."),
        kept_only: bool = typer.Option(False, "--kept-only", help="Write only records with text (dropped/failed are still counted)."),
    ):
        """Extract documents from HTML, WARC(.gz)/ARC and PDF files into JSONL.

        Each line is {"id", "text", "url", "source", "file", ...metadata (title, date, pages, ocr_pages, mean_ocr_confidence...)}. A record that fails gets {"id", "error": "..."} instead of "text"; one that holds no document text (non-HTML WARC record, HTTP error, empty page) gets {"dropped": reason}. The command goes on after every bad record or file and prints the counts at the end.
        """
        import json
        import sys
        from collections import Counter

        from rich.console import Console
        from tqdm import tqdm

        from mmedc.config import OcrConfig

        paths: list[Path] = []
        for f in files:
            if f.is_dir():
                paths += sorted(p for p in f.rglob("*") if p.is_file() and kind_of(p))
            else:
                paths.append(f)
        counts: Counter = Counter()
        ocr_cfg = OcrConfig(dpi=dpi, enabled=ocr)
        limits = LimitsConfig(max_pdf_bytes=max_pdf_bytes)
        sink = sys.stdout if str(out) == "-" else open(out, "w", encoding="utf-8")
        try:
            for path in tqdm(paths, desc="extract", unit="file", disable=str(out) == "-" or len(paths) < 2):
                kind = kind_of(path)
                if kind is None or not path.is_file():
                    why = "not_found" if not path.exists() else f"unsupported_file: {path.suffix or 'no suffix'}"
                    recs = [_failed(f"{source}:{path.name}", why)]
                else:
                    recs = records_of(path, source, lang, ocr_cfg, kind, limits)
                for rec in _guarded(recs, f"{source}:{path.name}"):
                    counts[rec.decision] += 1
                    if kept_only and rec.decision != "kept":
                        continue
                    line = output_line(rec, source, str(path))
                    sink.write(json.dumps(line, ensure_ascii=False, default=str) + "\n")
        finally:
            if sink is not sys.stdout:
                sink.close()
        n = counts["kept"] + counts["dropped"] + counts["failed"]
        Console(stderr=True).print(f"{n} record(s) from {len(paths)} file(s): {counts['kept']} kept, "
                                   f"{counts['dropped']} dropped, {counts['failed']} failed → {out}")


def _failed(rid: str, reason: str):
    from mmedc.core.record import Record

    return Record.failed(rid, reason)


def _guarded(recs, rid: str):
    """Readers record their own errors; anything they did not foresee still ends as one error line."""
    from mmedc.core.errors import short_error

    try:
        yield from recs
    except Exception as e:  # noqa: BLE001
        yield _failed(f"{rid}#unexpected", f"reader_error: {short_error(e)}")
