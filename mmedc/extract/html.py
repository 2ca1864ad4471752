"""HTML → main text with trafilatura, keeping title, URL and date.

Two things differ from calling `trafilatura.extract(raw_bytes)`:
- decoding honours what the page declares (BOM, HTTP charset, <meta charset>) before guessing;
  trafilatura alone ignores declarations and guesses, which garbles short cp1251 / Shift_JIS pages;
- metadata is the cheap part of trafilatura's (title, htmldate without its extensive search): its full
  metadata pass (author, categories, extensive date search) costs ~2x the text extraction itself.
The page is parsed once; the same tree feeds metadata and text extraction.
"""
from __future__ import annotations

import codecs
import logging
import re

from mmedc.sources.base import Record, short_error

# WHATWG encoding labels that browsers treat as a superset (what pages labelled so really contain).
_SUPERSETS = {"iso-8859-1": "cp1252", "latin1": "cp1252", "latin-1": "cp1252", "us-ascii": "cp1252",
              "ascii": "cp1252", "iso-8859-9": "cp1254", "gb2312": "gb18030", "gbk": "gb18030",
              "x-gbk": "gb18030", "shift_jis": "cp932", "shift-jis": "cp932", "sjis": "cp932",
              "x-sjis": "cp932", "euc-kr": "cp949", "tis-620": "cp874", "iso-8859-11": "cp874"}
_BOMS = ((codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"))
_HEADER_CHARSET = re.compile(r"charset\s*=\s*[\"']?([\w.:-]+)", re.I)
_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([\w.:-]+)""", re.I)
_XML_DECL = re.compile(rb"""^\s*<\?xml[^>]+encoding\s*=\s*["']([\w.:-]+)""", re.I)
_SNIFF = re.compile(rb"^\s*(<!--.*?-->\s*)*(<!doctype\s+html|<html|<head|<body|<meta|<title)", re.I | re.S)

# trafilatura and htmldate log every page without a main text as an error; that is a recorded
# `dropped` row here, not a log line.
for _name in ("trafilatura", "htmldate"):
    logging.getLogger(_name).setLevel(logging.CRITICAL)


def charset_from_content_type(content_type: str | None) -> str | None:
    m = _HEADER_CHARSET.search(content_type or "")
    return m.group(1) if m else None


def _codec(label: str | None) -> str | None:
    if not label:
        return None
    label = label.strip().lower()
    try:
        name = codecs.lookup(_SUPERSETS.get(label, label)).name
    except LookupError:
        return None
    # A page cannot really be UTF-16 when it was read as ASCII-compatible markup (a common mislabel).
    return "utf-8" if name.startswith("utf-16") or name.startswith("utf-32") else name


def decode_html(raw: bytes, content_type: str | None = None) -> tuple[str, str]:
    """(text, how) — how says which rule chose the encoding: bom / header / meta / utf-8 / detected / replaced."""
    for bom, enc in _BOMS:
        if raw.startswith(bom):
            return raw.decode(enc, errors="replace"), f"bom:{enc}"
    head = raw[:4096]
    declared = [("header", _codec(charset_from_content_type(content_type)))]
    m = _META_CHARSET.search(head) or _XML_DECL.search(head)
    declared.append(("meta", _codec(m.group(1).decode("ascii", "ignore")) if m else None))
    for how, enc in declared + [("utf-8", "utf-8")]:
        if enc:
            try:
                return raw.decode(enc), f"{how}:{enc}"
            except (UnicodeDecodeError, LookupError):
                continue  # a wrong declaration: try the next rule
    from charset_normalizer import from_bytes

    best = from_bytes(raw[:20000]).best()
    if best is not None:
        try:
            return raw.decode(best.encoding), f"detected:{best.encoding}"
        except (UnicodeDecodeError, LookupError):
            pass
    return raw.decode("utf-8", errors="replace"), "replaced:utf-8"


def looks_like_html(raw: bytes) -> bool:
    """For records without a Content-Type (old ARC files): does the payload start like HTML?"""
    return bool(_SNIFF.match(raw[:2048].lstrip(codecs.BOM_UTF8)))


def page_metadata(tree) -> dict:
    """Title and publication date (cheap settings), and the page's declared language."""
    import htmldate
    from trafilatura.metadata import extract_title

    meta = {}
    try:
        meta["title"] = extract_title(tree)
    except Exception:  # noqa: BLE001 - metadata is optional; the text still counts
        pass
    try:
        meta["date"] = htmldate.find_date(tree, extensive_search=False, original_date=True)
    except Exception:  # noqa: BLE001
        pass
    lang = tree.get("lang") if hasattr(tree, "get") else None
    if lang:
        meta["html_lang"] = lang.strip()[:20]
    return {k: v for k, v in meta.items() if v}


def with_url(rec: Record, url: str | None) -> Record:
    """Dropped and failed records keep their URL too (Record.dropped/failed take only meta)."""
    rec.url = url
    return rec


def extract_html(rid: str, raw: bytes | str, url: str | None = None, content_type: str | None = None,
                 **extra) -> Record:
    """One page → a kept record (text + title/date/url), or dropped (no main text), or failed."""
    import trafilatura

    try:
        text, how = (raw, "str") if isinstance(raw, str) else decode_html(raw, content_type)
        tree = trafilatura.load_html(text)
        if tree is None:
            return with_url(Record.dropped(rid, "no_text: not parseable as HTML", **extra), url)
        meta = page_metadata(tree)
        doc = trafilatura.bare_extraction(tree, url=url, with_metadata=False, include_comments=False)
    except Exception as e:  # noqa: BLE001 - a page trafilatura cannot parse is one failed record
        return with_url(Record.failed(rid, f"extract_error: {short_error(e)}", **extra), url)
    if doc is None or not (doc.text or "").strip():
        return with_url(Record.dropped(rid, "no_text: trafilatura found no main text", **extra), url)
    meta.update({k: v for k, v in {"content_type": content_type, "encoding": how, **extra}.items() if v})
    return Record.ok(rid, doc.text, url, **meta)
