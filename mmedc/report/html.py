"""The report page: one self-contained HTML file (inline CSS, SVG and a few lines of JS, no CDN)."""
from __future__ import annotations

from html import escape

from mmedc.report import svg

CSS = """
body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;margin:24px auto;max-width:1180px;color:#222;background:#fff}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 8px;border-bottom:1px solid #ddd;padding-bottom:4px}
table{border-collapse:collapse;font-size:12px;margin:8px 0}td,th{border:1px solid #ddd;padding:3px 7px;text-align:right}
th{background:#f4f4f4}td.l,th.l{text-align:left}.muted{color:#666;font-size:12px}.empty{color:#999;font-style:italic}
.grid{display:flex;flex-wrap:wrap;gap:10px}.hist{border:1px solid #eee;padding:4px}.ok{color:#2a7d2a}.bad{color:#c0392b}
.htitle{font-size:11px;font-weight:bold}
"""

# Marks every chart with what the browser actually drew (used by the headless-browser test, and
# harmless otherwise): the number of visible marks and the chart's box on the page.
JS = """
window.addEventListener('load', function () {
  var charts = document.querySelectorAll('svg.chart'), drawn = 0;
  charts.forEach(function (c) {
    var n = 0;
    c.querySelectorAll('.mark').forEach(function (m) { var b = m.getBBox(); if (b.width > 0 && b.height > 0) n++; });
    var r = c.getBoundingClientRect();
    c.setAttribute('data-marks', n);
    c.setAttribute('data-box', [r.left + scrollX, r.top + scrollY, r.width, r.height].map(Math.round).join(','));
    if (n > 0) drawn++;
  });
  document.body.setAttribute('data-charts', charts.length);
  document.body.setAttribute('data-charts-drawn', drawn);
});
"""


def _table(head: list[str], rows: list[list], left: int = 1, text: tuple[int, ...] = ()) -> str:
    """A table; the first `left` columns and those in `text` are left-aligned (labels, not figures)."""
    def cls(i):
        return "l" if i < left or i in text else ""

    th = "".join(f'<th class="{cls(i)}">{escape(str(h))}</th>' for i, h in enumerate(head))
    body = "".join("<tr>" + "".join(f'<td class="{cls(i)}">{escape(str(v))}</td>'
                                    for i, v in enumerate(r)) + "</tr>" for r in rows)
    return f"<table><tr>{th}</tr>{body}</table>"


def _header(d: dict, check) -> str:
    m = d["manifest"]
    t = m.get("totals", {})
    parts = [f"<h1>MMedC run report: {escape(str(m.get('recipe', '?')))}</h1>",
             f'<div class="muted">{escape(d["out"])} · recipe fingerprint {escape(str(m.get("fingerprint", "?")))} · '
             f'{len(m.get("shards", []))} output shard(s) · {t.get("docs", 0):,} documents · {t.get("tokens", 0):,} tokens · '
             f'tokenizer {escape(str(m.get("tokenizer", {}).get("name", "?")))}</div>']
    if check is not None:
        if check.ok:
            parts.append(f'<p class="ok">✓ audit check passed: {escape(", ".join(f"{v} {k}" for k, v in check.checked.items()))}</p>')
        else:
            items = "".join(f"<li>{escape(v)}</li>" for v in check.violations[:20])
            parts.append(f'<div class="bad">✗ audit check: {len(check.violations)} violation(s)<ul>{items}</ul></div>')
    return "".join(parts)


def _funnel(d: dict) -> str:
    steps, langs, cells = d["steps"], d["langs"], d["funnel"]
    rows = []
    for lang in langs:
        first = cells.get((steps[0], lang), {}).get("in", 0) if steps else 0
        rows.append([lang, first] + [cells.get((s, lang), {}).get("kept", 0) for s in steps])
    table = _table(["language", f"in ({steps[0] if steps else '-'})"] + [f"kept after {s}" for s in steps], rows)
    series = [(lang, [cells.get((s, lang), {}).get("kept", 0) for s in steps]) for lang in langs]
    chart = svg.bars(steps, series, chart_id="funnel")
    drops = []
    for s in steps:
        for lang in langs:
            c = cells.get((s, lang))
            if c and (c["dropped"] or c["failed"]):
                drops.append([s, lang, c["in"], c["kept"], c["dropped"], c["failed"]])
    return ("<h2>Funnel per step and language</h2>"
            '<p class="muted">Documents kept after each step (language: the one language ID found; '
            f'"{escape("?")}" = never identified). Every step: in = kept + dropped + failed.</p>'
            + chart + table + _table(["step", "language", "in", "kept", "dropped", "failed"], drops, left=2))


def _worst(d: dict) -> str:
    df = d["worst_shards"]
    if df.is_empty() or "lost" not in df.columns:
        return ""
    rows = [[r["shard"], r["docs_in"], r["docs_out"], f"{100 * r['lost']:.0f}%", r["why"]] for r in df.iter_rows(named=True)]
    return ("<h2>Shards that lost the most documents</h2>"
            + _table(["shard", "in", "out", "lost", "why (step: top reasons)"], rows, text=(4,)))


def _tokens(d: dict) -> str:
    df = d["tokens"]
    if df.is_empty():
        return '<h2>Tokens by language × source</h2><p class="empty">no output shards</p>'
    langs, sources = sorted(set(df["lang"])), sorted(set(df["source"]))
    cell = {(r["lang"], r["source"]): r for r in df.iter_rows(named=True)}
    rows = []
    for lang in langs:
        vals = [cell.get((lang, s), {}).get("tokens", 0) for s in sources]
        rows.append([lang] + [svg.human(v) if v else "0" for v in vals] + [svg.human(sum(vals))])
    col_tot = [sum(cell.get((lang, s), {}).get("tokens", 0) for lang in langs) for s in sources]
    rows.append(["total"] + [svg.human(v) for v in col_tot] + [svg.human(sum(col_tot))])
    series = [(s, [cell.get((lang, s), {}).get("tokens", 0) for lang in langs]) for s in sources]
    return ("<h2>Tokens by language × source</h2>"
            '<p class="muted">Tokens in the output shards (the layout of MMedC\'s token table: one row per '
            "language, one column per source).</p>"
            + _table(["language"] + sources + ["total"], rows) + svg.bars(langs, series, stacked=True, unit=" tokens",
                                                                          chart_id="tokens"))


def _histograms(d: dict) -> str:
    if not d["histograms"]:
        return '<h2>Score histograms</h2><p class="empty">no scores in the audit</p>'
    parts = ["<h2>Score histograms with thresholds</h2>",
             '<p class="muted">Raw scores of every document that reached the step (kept ones too); the dashed '
             "red line is the language pack's threshold.</p>"]
    by_col: dict[str, list] = {}
    for h in d["histograms"]:
        by_col.setdefault(h["column"], []).append(h)
    for col, hs in by_col.items():
        parts.append(f'<h3 style="font-size:14px">{escape(hs[0]["label"])} <span class="muted">({escape(hs[0]["step"])}: {escape(col)})</span></h3><div class="grid">')
        for i, h in enumerate(hs):
            thr = [(h["threshold"], f"min {h['threshold']:g}")] if h["threshold"] is not None else []
            title = f"{h['lang']}: {h['n']} docs" + (f", {h['below']} below" if h["below"] is not None else "")
            parts.append('<div class="hist">' + svg.histogram(h["edges"], h["counts"], thr, title=title,
                                                              chart_id=f"hist-{col}-{h['lang']}", series=i) + "</div>")
        parts.append("</div>")
    return "".join(parts)


def _ocr(d: dict) -> str:
    books = d["ocr"]
    if not books:
        return '<h2>OCR confidence per book</h2><p class="empty">no OCR\'d books in this run</p>'
    names = [b["file"] for b in books]
    chart = svg.bars(names, [("mean OCR confidence (0-100)", [float(b["confidence"] or 0) for b in books])],
                     chart_id="ocr", label_width=200)
    rows = [[b["file"], b["source"], b["pages"], b["ocr_pages"],
             "-" if b["confidence"] is None else f"{b['confidence']:.1f}", b["decision"]] for b in books]
    return ("<h2>OCR confidence per book</h2>" + chart
            + _table(["book", "source", "pages", "OCR'd pages", "mean confidence", "ingest"], rows, left=2))


def _books(d: dict) -> str:
    """A book list's coverage per source, and the titles not read (missing, or failed with why);
    nothing when the run has no book list."""
    from mmedc.audit.query import coverage_line

    cov = d.get("books") or []
    if not cov:
        return ""
    rows = [[c["source"], c["listed"], c["found"], c["missing"], c["failed"],
             f"{100 * c['found'] / max(c['listed'], 1):.1f}%"] for c in cov]
    lines = "".join(f"<li>{escape(coverage_line(c, titles=10**9))}</li>" for c in cov)
    return ("<h2>Book lists: coverage</h2>" + _table(["source", "listed", "found", "missing", "failed", "coverage"], rows)
            + f'<ul class="muted">{lines}</ul>')


def _duplicates(d: dict) -> str:
    df = d["duplicates"]
    if df.is_empty():
        return '<h2>Duplicates per source</h2><p class="empty">no dedup step in the audit</p>'
    kinds = [c for c in df.columns if c not in ("source", "in")]
    sources = df["source"].to_list()
    series = [(k, df[k].to_list()) for k in kinds] or [("duplicates", [0] * len(sources))]
    rows = [[r["source"], r["in"]] + [r[k] for k in kinds] + [f"{100 * sum(r[k] for k in kinds) / max(r['in'], 1):.1f}%"]
            for r in df.iter_rows(named=True)]
    return ("<h2>Duplicates per source</h2>" + svg.bars(sources, series, stacked=True, chart_id="duplicates")
            + _table(["source", "into dedup"] + kinds + ["share dropped"], rows))


def render(d: dict, check=None) -> str:
    body = "".join([_header(d, check), _funnel(d), _worst(d), _tokens(d), _histograms(d), _ocr(d), _books(d),
                    _duplicates(d)])
    title = escape(f"MMedC report: {d['manifest'].get('recipe', d['out'])}")
    return (f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{title}</title>'
            f"<style>{CSS}</style></head><body>{body}<script>{JS}</script></body></html>\n")
