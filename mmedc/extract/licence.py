"""Licence hints: where a page or a PDF says under which terms it may be reused.

They are hints, not legal findings: a team filters on them (e.g. keep `creativecommons.org/licenses/by`)
and checks what it keeps. Found, in this order:
- on an HTML page: a link whose `rel` says `license` (`<a rel="license">`, `<link rel="license">`), else a
  link to a Creative Commons licence, else a `<meta name="dcterms.license" | "dc.rights" | ...>`;
- in a PDF: the document information fields (title, author, subject, keywords: PyMuPDF's
  `doc.metadata`) mentioning a licence, Creative Commons, public domain or a copyright statement
  (`©`, "Copyright 2020 …", "all rights reserved"), then its XMP
  metadata (a Creative Commons URL, `xmpRights:UsageTerms`, `dc:rights`).
A value is the Creative Commons URL when there is one, else a "CC BY-SA 4.0"-style name, else the
text found (whitespace collapsed, at most MAX_HINT characters).

Used by `mmedc crawl` (mmedc.crawl.licence re-exports it: the hint goes into the WARC headers) and by
the PDF reader (mmedc.extract.pdf: a PDF with no crawl-time hint, e.g. from Common Crawl or a book
folder, gets its own at read time). It lives in mmedc.extract so that extract never imports crawl.
"""
from __future__ import annotations

import re
from urllib.parse import urljoin

MAX_HINT = 200
MAX_XMP = 1 << 20  # XMP packets are a few KB; a huge one is read this far

CC_URL = re.compile(r"https?://(?:www\.)?creativecommons\.org/(?:licenses|licences|publicdomain)/[^\s\"'<>)\]]*",
                    re.IGNORECASE)
CC_NAME = re.compile(r"\bCC[ -]?(?:0|BY(?:[ -](?:NC|SA|ND)){0,2})(?:[ -]?[1-4]\.0)?\b", re.IGNORECASE)
# "copyright" alone also names offices and laws ("Copyright Office Summary of the DMCA", a real PDF's
# subject): a statement has a year or a sign after it.
MENTIONS = re.compile(r"licen[cs]|creative\s*commons|public\s+domain|copyright\s*(?:©|\(c\)|\d{4})|©|rights\s+reserved"
                      r"|\bCC[ -]?(?:BY|0)\b", re.IGNORECASE)
META_NAMES = ("dcterms.license", "dc.rights", "dcterms.rights", "dc.rights.license", "license", "licence")
PDF_FIELDS = ("subject", "keywords", "title", "author")  # producer / creator name software, not terms
XMP_TAGS = ("xmpRights:UsageTerms", "dc:rights", "cc:license")


def licence_of_text(text: str) -> str | None:
    """The licence a piece of text names, or None when it mentions none."""
    if m := CC_URL.search(text or ""):
        return m.group(0)
    if not text or not MENTIONS.search(text):
        return None
    if m := CC_NAME.search(text):
        return _cc_name(m.group(0))
    return " ".join(text.split())[:MAX_HINT]


def _cc_name(raw: str) -> str:
    """"cc-by-nc-sa 4.0" → "CC BY-NC-SA 4.0", "cc0 1.0" → "CC0 1.0"."""
    parts = [p for p in re.split(r"[ -]+", raw.upper()) if p]
    if parts[0] != "CC":  # "CCBY": the CC glued on
        parts = ["CC", parts[0][2:], *parts[1:]]
    version = [p for p in parts[1:] if "." in p]
    terms = [p for p in parts[1:] if "." not in p]
    return " ".join(["CC0" if terms == ["0"] else f"CC {'-'.join(terms)}", *version])


def page_licence(doc, base_url: str) -> str | None:
    """The licence an HTML page (an lxml document) declares, or None."""
    for el in doc.xpath("//a[@rel][@href] | //link[@rel][@href] | //area[@rel][@href]"):
        if "license" in (el.get("rel") or "").lower().split():
            return urljoin(base_url, el.get("href").strip())[:MAX_HINT * 4]
    for href in doc.xpath("//a/@href"):
        if m := CC_URL.match(urljoin(base_url, href.strip())):
            return m.group(0)
    for el in doc.xpath("//meta[@name][@content]"):
        if el.get("name").strip().lower() in META_NAMES and (hint := licence_of_text(el.get("content"))):
            return hint
    return None


def pdf_licence(data: bytes) -> tuple[str, str] | None:
    """(licence, where it was found) from a PDF's metadata, or None (none said, or not a readable PDF)."""
    from mmedc.extract.pymupdf_import import load_pymupdf

    pymupdf = load_pymupdf()
    try:
        doc = pymupdf.open(stream=data, filetype="pdf")
    except Exception:  # noqa: BLE001 - a broken PDF says nothing; the reader reports it
        return None
    with doc:
        return pdf_doc_licence(doc)


def pdf_doc_licence(doc) -> tuple[str, str] | None:
    """pdf_licence of an open PyMuPDF document (the reader has it open already): info fields, then XMP."""
    try:
        info = doc.metadata or {}
        for key in PDF_FIELDS:
            if hint := licence_of_text(info.get(key) or ""):
                return hint, f"pdf metadata {key}"
        xmp = (doc.get_xml_metadata() or "")[:MAX_XMP]
    except Exception:  # noqa: BLE001 - unreadable metadata is no hint, never a failed book
        return None
    if m := CC_URL.search(xmp):
        return m.group(0), "pdf xmp"
    for tag in XMP_TAGS:
        if m := re.search(rf"<{tag}\b[^>]*>(.*?)</{tag}>", xmp, re.DOTALL):
            if hint := licence_of_text(re.sub(r"<[^>]*>", " ", m.group(1))):
                return hint, f"pdf xmp {tag}"
    return None
