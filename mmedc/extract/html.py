"""HTML → main text with trafilatura, keeping title, URL and date.

Two things differ from calling `trafilatura.extract(raw_bytes)`:
- decoding honours what the page declares (BOM, HTTP charset, <meta charset>) before guessing;
  trafilatura alone ignores declarations and guesses, which garbles short cp1251 / Shift_JIS pages;
- metadata is the cheap part of trafilatura's (title, htmldate without its extensive search): its full
  metadata pass (author, categories, extensive date search) costs ~2x the text extraction itself.
The page is parsed once; the same tree feeds metadata and text extraction. When that finds no text,
fails, or lxml's tree stopped at its depth limit, fallbacks run and say so (`extract_html`).
"""
from __future__ import annotations

import codecs
import logging
import re

from mmedc.core.errors import short_error
from mmedc.core.record import Record

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
                return _decode_cut(raw, enc), f"{how}:{enc}"
            except (UnicodeDecodeError, LookupError):
                continue  # a wrong declaration: try the next rule
    from charset_normalizer import from_bytes

    best = from_bytes(raw[:20000]).best()
    if best is not None:
        try:
            return _decode_cut(raw, best.encoding), f"detected:{best.encoding}"
        except (UnicodeDecodeError, LookupError):
            pass
    return raw.decode("utf-8", errors="replace"), "replaced:utf-8"


_CUT_REASONS = ("unexpected end of data", "incomplete multibyte sequence", "truncated data")  # codecs' words


def _decode_cut(raw: bytes, enc: str) -> str:
    """Strict decoding, except that a character cut at the very end (a page truncated at a size
    limit) is left out."""
    try:
        return raw.decode(enc)
    except UnicodeDecodeError as e:
        if e.reason in _CUT_REASONS and e.end == len(raw) and e.start >= len(raw) - 4:
            return raw[:e.start].decode(enc)
        raise


_CONTROL = re.compile(rb"[\x00-\x08\x0e-\x1f]")


def looks_binary(raw: bytes) -> bool:
    """More than 1% control bytes (NUL...) in the first 4 KB: not text in any encoding a page uses
    (UTF-16 pages carry a BOM, checked first). /dev/zero read as a page: 8 MiB of U+FFFD, 37 s."""
    head = raw[:4096]
    return len(_CONTROL.findall(head)) * 100 > len(head)


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


# libxml2 (lxml's HTML parser, trafilatura's) stops building the tree at this depth and drops
# everything nested deeper, and the rest of the page after it: 255+ nested divs, 300 unclosed <font>.
LIBXML_MAX_DEPTH = 256
_AT_MAX_DEPTH = "boolean(" + "/*" * LIBXML_MAX_DEPTH + ")"
# The recovered parse keeps at most this much nesting (deeper tags dropped, their text kept), and
# less on big pages: trafilatura's readability fallback takes the text of every element, so its
# work is nesting x page size (an 8 MiB page of unclosed <font>s: 58 s and 3.3 GB at 200 levels).
RECOVERED_MAX_DEPTH = 200
RECOVERED_DEPTH_BUDGET = 32 << 20  # nesting x characters
RECOVERED_MIN_DEPTH = 16
# Characters XML 1.0 does not allow: lxml refuses them in a tree trafilatura builds, and trafilatura
# then returns nothing for the whole page (one `&#xFFFF;` is enough).
_NON_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


class _RecoveredTree:
    """lxml parser target: libxml2's tokenizer and error recovery without its tree's depth limit
    (a target sees every element), building the tree itself with nesting capped and non-XML
    characters removed. Linear: one event per tag or text run."""

    def __init__(self, cap: int):
        import lxml.etree
        import lxml.html

        self.cap = cap
        self.tb = lxml.etree.TreeBuilder(parser=lxml.html.HTMLParser())
        self.stack: list[str | None] = []  # tag built for each open element (None: above the cap)
        self.max_depth = self.removed = 0

    def _clean(self, s: str | None) -> str:
        s, n = _NON_XML.subn("", s or "")
        self.removed += n
        return s

    def start(self, tag, attrib):
        self.max_depth = max(self.max_depth, len(self.stack) + 1)
        if len(self.stack) >= self.cap:
            self.stack.append(None)
            return
        attrs = {k: self._clean(v) for k, v in attrib.items()}
        try:
            self.tb.start(tag, attrs)
        except ValueError:  # a tag or attribute name XML cannot hold: keep the element, not the name
            tag = "span"
            self.tb.start(tag, {})
        self.stack.append(tag)

    def end(self, tag):
        built = self.stack.pop() if self.stack else None
        if built is not None:
            self.tb.end(built)

    def data(self, data):
        self.tb.data(self._clean(data))

    def close(self):
        while self.stack:
            self.end(None)
        return self.tb.close()


def recovered_tree(text: str):
    """(tree, what was repaired) — the page parsed without libxml2's depth limit; None when it holds no element."""
    import lxml.etree

    cap = min(RECOVERED_MAX_DEPTH, max(RECOVERED_MIN_DEPTH, RECOVERED_DEPTH_BUDGET // max(len(text), 1)))
    target = _RecoveredTree(cap)
    try:
        parser = lxml.etree.HTMLParser(target=target, encoding="utf-8")
        tree = lxml.etree.fromstring(text.encode("utf-8", "replace"), parser)
    except lxml.etree.XMLSyntaxError:  # no element at all
        return None, []
    notes = []
    if target.max_depth > cap:
        notes.append(f"nesting of {target.max_depth} levels capped at {cap}")
    if target.removed:
        notes.append(f"{target.removed} character(s) not allowed in XML removed")
    return tree, notes


def _main_text(tree, url) -> str:
    import trafilatura

    doc = trafilatura.bare_extraction(tree, url=url, with_metadata=False, include_comments=False)
    return (doc.text or "").strip() if doc is not None else ""


def extract_html(rid: str, raw: bytes | str, url: str | None = None, content_type: str | None = None,
                 **extra) -> Record:
    """One page → a kept record (text + title/date/url), or dropped (no main text), or failed.

    trafilatura on lxml's parse first. When that finds nothing, fails, or lxml's parse hit its depth
    limit (the text under it is lost), the page is parsed again without the limit (`recovered_tree`)
    and trafilatura tried on that, then trafilatura's baseline (article / paragraphs / body text).
    A kept page that needed a fallback says which one in meta `extractor`; a dropped one lists what
    was tried.
    """
    import trafilatura

    if isinstance(raw, bytes) and not raw.startswith(tuple(b for b, _ in _BOMS)) and looks_binary(raw):
        return with_url(Record.dropped(rid, "not_html: binary content (control bytes such as NUL)", **extra), url)
    try:
        text, how = (raw, "str") if isinstance(raw, str) else decode_html(raw, content_type)
    except Exception as e:  # noqa: BLE001
        return with_url(Record.failed(rid, f"extract_error: {short_error(e)}", **extra), url)
    if not text.strip():
        return with_url(Record.dropped(rid, "no_text: empty page", **extra), url)
    meta, found, problem, errors = {}, "", None, []
    try:
        tree = trafilatura.load_html(text)
        if tree is not None:
            meta = page_metadata(tree)
            if tree.xpath(_AT_MAX_DEPTH):  # its text would be partial: straight to the recovered parse
                problem = f"lxml's parse stopped at its depth limit of {LIBXML_MAX_DEPTH} levels"
            else:
                found = _main_text(tree, url)
    except Exception as e:  # noqa: BLE001 - a page trafilatura cannot take goes to the fallbacks
        errors.append(f"trafilatura: {short_error(e)}")
    extractor = None
    if not found or problem or errors:
        found, extractor, tried = _fallbacks(text, url, found, problem, errors, meta)
        if not found:
            if errors:
                return with_url(Record.failed(rid, f"extract_error: {'; '.join(errors)}", **extra), url)
            return with_url(Record.dropped(rid, f"no_text: no main text; tried: {', '.join(tried)}", **extra), url)
    meta.update({k: v for k, v in {"content_type": content_type, "encoding": how, "extractor": extractor,
                                   **extra}.items() if v})
    return Record.ok(rid, found, url, **meta)


def _fallbacks(text: str, url, found: str, problem: str | None, errors: list, meta: dict):
    """(text, extractor, what was tried) after the first extraction found nothing, failed, or ran on
    a parse cut at lxml's depth limit. `errors` and `meta` (when empty) are filled in place."""
    import trafilatura

    tried = ["trafilatura"]
    partial = (found, f"trafilatura, may be partial: {problem}", tried)  # what stands if nothing does better
    try:
        rtree, notes = recovered_tree(text)
        if rtree is None:
            tried.append("a recovered parse: no element")
            return partial
        how = "; ".join(([problem] if problem else []) + notes) or "nothing to repair"
        if not meta:
            meta.update(page_metadata(rtree))
        if text2 := _main_text(rtree, url):
            return text2, f"trafilatura on a recovered parse ({how})", tried
        tried.append(f"trafilatura on a recovered parse ({how})")
        if found:  # nothing more from the recovered parse: keep the first text, flagged
            return partial
        base = trafilatura.baseline(rtree)[1].strip()
        tried.append("trafilatura baseline")
        if base:
            return base, f"trafilatura baseline on a recovered parse ({how})", tried
    except Exception as e:  # noqa: BLE001
        errors.append(f"recovered parse: {short_error(e)}")
    return partial
