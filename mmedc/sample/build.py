"""Builds the embedded sample's input files from `texts.py`: JSONL corpus, near-duplicates, an HTML
page, a WARC archive, a PDF book with one scanned (image-only) page, and one damaged file.

Deterministic: the same inputs on every run (fixed seeds and dates).
"""
from __future__ import annotations

import glob
import gzip
import io
import json
import random
from pathlib import Path

from mmedc.sample.texts import EXAMS, GENERAL, MEDICAL

HTML_DOC = ("es", "es-depresion")
WARC_DOCS = [("fr", "fr-asthme"), ("ja", "ja-anemia")]
BOOK_TEXT_PAGE = ("en", "en-pneumonia")
BOOK_SCANNED_PAGE = ("en", "en-migraine")
NEAR_DUP_OF = [("en", "en-diabetes"), ("zh", "zh-hypertension"), ("ru", "ru-hypertension")]
RESERVED = {HTML_DOC, *WARC_DOCS, BOOK_TEXT_PAGE, BOOK_SCANNED_PAGE}
FIXED_DATE = "2026-01-01T00:00:00Z"


def _docs(table, label):
    for lang, items in table.items():
        for did, title, text in items:
            yield {"id": did, "lang": lang, "title": title, "text": text, "label": label}


def all_docs() -> list[dict]:
    return list(_docs(MEDICAL, "medical")) + list(_docs(GENERAL, "non_medical"))


def _find(lang: str, did: str) -> dict:
    return next(d for d in all_docs() if d["lang"] == lang and d["id"] == did)


def perturb(text: str, rate: float, seed: int, cjk: bool) -> str:
    """A near-duplicate: `rate` of the words (CJK: characters) edited, half deleted, half replaced."""
    rng = random.Random(seed)
    units = list(text) if cjk else text.split(" ")
    k = max(2, round(rate * len(units)))
    for j, pos in enumerate(sorted(rng.sample(range(len(units)), k), reverse=True)):
        if j % 2:
            del units[pos]
        else:
            units[pos] = "的" if cjk else "very"
    return ("" if cjk else " ").join(units)


def html_page(title: str, text: str, lang: str) -> str:
    paras = "\n".join(f"      <p>{p}</p>" for p in text.split(". ") if p)
    nav = " | ".join(f'<a href="/{w}">{w}</a>' for w in ("inicio", "temas", "contacto", "aviso-legal"))
    return f"""<!DOCTYPE html>
<html lang="{lang}"><head><meta charset="utf-8"><title>{title}</title></head>
<body>
  <header><nav>{nav}</nav></header>
  <main><article>
      <h1>{title}</h1>
{paras}
  </article></main>
  <aside><ul><li><a href="/newsletter">Newsletter</a></li><li><a href="/cookies">Cookies</a></li></ul></aside>
  <footer>© 2026 example.org · <a href="/privacy">Privacy</a></footer>
</body></html>
"""


def write_warc(path: Path, pages: list[tuple[str, str]]):
    from warcio.statusandheaders import StatusAndHeaders
    from warcio.warcwriter import WARCWriter

    with open(path, "wb") as f:
        w = WARCWriter(f, gzip=True)
        for url, html in pages:
            http = StatusAndHeaders("200 OK", [("Content-Type", "text/html; charset=utf-8")], protocol="HTTP/1.1")
            w.write_record(w.create_warc_record(url, "response", payload=io.BytesIO(html.encode("utf-8")),
                                                http_headers=http, warc_headers_dict={"WARC-Date": FIXED_DATE}))
        # A non-HTML response: recorded as dropped (not_html), not lost.
        http = StatusAndHeaders("200 OK", [("Content-Type", "image/png")], protocol="HTTP/1.1")
        w.write_record(w.create_warc_record("https://example.org/logo.png", "response",
                                            payload=io.BytesIO(b"\x89PNG\r\n\x1a\n"), http_headers=http,
                                            warc_headers_dict={"WARC-Date": FIXED_DATE}))


def write_book(path: Path, text_page: str, scanned_page: str, title: str):
    """Page 1 carries a text layer; page 2 is only an image of text (a scan), so it needs OCR."""
    import pymupdf

    rect = pymupdf.paper_rect("a4")
    box = rect + (60, 60, -60, -60)
    doc = pymupdf.open()
    doc.new_page(width=rect.width, height=rect.height).insert_textbox(box, f"{title}\n\n{text_page}", fontsize=12)
    src = pymupdf.open()
    src.new_page(width=rect.width, height=rect.height).insert_textbox(box, scanned_page, fontsize=12)
    pix = src[0].get_pixmap(dpi=200, colorspace="gray")
    doc.new_page(width=rect.width, height=rect.height).insert_image(rect, pixmap=pix)
    doc.set_metadata({"title": title, "creationDate": "D:20260101000000", "modDate": "D:20260101000000"})
    doc.save(path, garbage=3, deflate=True, no_new_id=True)


def write_damaged(path: Path):
    """Two good lines, one line of invalid JSON, more good lines, and the gzip stream cut short."""
    good = [json.dumps({"id": f"damaged-{i}", "text": f"{d['title']}. {d['text']}"}, ensure_ascii=False) + "\n"
            for i, d in enumerate(_docs(GENERAL, "non_medical"))]
    body = "".join(good[:2]) + '{"id": "damaged-bad", "text": "unterminated\n' + "".join(good[2:])
    blob = gzip.compress(body.encode(), mtime=0)
    path.write_bytes(blob[: len(blob) * 3 // 4])


def build(dest: Path) -> Path:
    dest = Path(dest)
    for sub in ("html", "books"):
        (dest / sub).mkdir(parents=True, exist_ok=True)
    with open(dest / "corpus.jsonl", "w") as f:
        for d in all_docs():
            if (d["lang"], d["id"]) not in RESERVED:
                f.write(json.dumps({"id": d["id"], "text": d["text"], "title": d["title"],
                                    "url": f"https://example.org/{d['lang']}/{d['id']}"}, ensure_ascii=False) + "\n")
    with open(dest / "near_dups.jsonl", "w") as f:
        for i, (lang, did) in enumerate(NEAR_DUP_OF):
            near = perturb(_find(lang, did)["text"], 0.02, seed=i, cjk=lang in ("zh", "ja"))
            f.write(json.dumps({"id": f"{did}-near", "text": near}, ensure_ascii=False) + "\n")
        # An exact duplicate up to case and punctuation.
        text = _find("fr", "fr-grippe")["text"].upper().replace(";", ",")
        f.write(json.dumps({"id": "fr-grippe-copy", "text": text}, ensure_ascii=False) + "\n")
    d = _find(*HTML_DOC)
    (dest / "html" / "depresion.html").write_text(html_page(d["title"], d["text"], d["lang"]))
    write_warc(dest / "web.warc.gz", [(f"https://example.org/{lang}/{did}.html",
                                       html_page(_find(lang, did)["title"], _find(lang, did)["text"], lang))
                                      for lang, did in WARC_DOCS])
    write_book(dest / "books" / "clinical_notes.pdf", _find(*BOOK_TEXT_PAGE)["text"],
               _find(*BOOK_SCANNED_PAGE)["text"], "Clinical notes")
    write_damaged(dest / "damaged.jsonl.gz")
    with open(dest / "exams.jsonl", "w") as f:
        for lang, items in EXAMS.items():
            for did, text in items:
                f.write(json.dumps({"id": did, "text": text, "lang": lang}, ensure_ascii=False) + "\n")
    return dest


def ensure_inputs(recipe) -> Path | None:
    """The embedded sample recipe (pipelines/sample.toml) reads files made by `build`: make them when
    one is missing, so that the README's first command works on a fresh clone. Returns the folder
    built, or None (another recipe, or nothing missing)."""
    from mmedc.paths import pipelines_dir

    dest = pipelines_dir() / "sample" / "generated"
    if Path(recipe.base_dir).resolve() != pipelines_dir().resolve():
        return None
    wanted = [recipe.base_dir / p for s in recipe.sources for p in s.paths]
    ours = [p for p in wanted if dest.resolve() in p.resolve().parents or p.resolve() == dest.resolve()]
    if ours and not all(p.exists() or (glob.has_magic(str(p)) and glob.glob(str(p))) for p in ours):
        return build(dest)
    return None
