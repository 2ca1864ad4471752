"""HTML → main text with trafilatura, keeping title, URL and date."""
from __future__ import annotations

from mmedc.sources.base import Record, short_error


def extract_html(rid: str, raw: bytes | str, url: str | None = None, content_type: str | None = None) -> Record:
    import trafilatura

    try:
        doc = trafilatura.bare_extraction(raw, url=url, with_metadata=True, include_comments=False)
    except Exception as e:  # noqa: BLE001 - a page trafilatura cannot parse is one failed record
        return Record.failed(rid, f"extract_error: {short_error(e)}", url=url)
    if doc is None or not (doc.text or "").strip():
        return Record.dropped(rid, "no_text: trafilatura found no main text", url=url)
    meta = {k: v for k, v in {"title": doc.title, "date": doc.date, "content_type": content_type}.items() if v}
    return Record.ok(rid, doc.text, url or doc.url, **meta)
