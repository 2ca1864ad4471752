"""`mmedc report`: a self-contained HTML page about one run (funnel, tokens, scores, OCR, duplicates)."""
from __future__ import annotations

from pathlib import Path


def build_report(out: Path, dest: Path, check: bool = True) -> Path:
    """Write the report of run folder `out` to `dest`; with check, the page shows `audit check`'s verdict."""
    from mmedc.audit.check import check as run_check
    from mmedc.report.data import gather
    from mmedc.report.html import render

    page = render(gather(out), run_check(out) if check else None)  # `out` may be a URI (s3://...)
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    dest.write_text(page, encoding="utf-8")
    return dest
