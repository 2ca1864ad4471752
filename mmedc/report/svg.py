"""Inline SVG charts for the report: bars (grouped or stacked) and histograms with thresholds.

Plain SVG strings, no library and no CDN: the report opens offline in any browser. Every mark has a
<title>, which browsers show as a tooltip with the exact figure.
"""
from __future__ import annotations

from html import escape

PALETTE = ["#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2", "#edc948", "#b07aa1", "#ff9da7",
           "#9c755f", "#bab0ac"]
THRESHOLD = "#d62728"


def color(i: int) -> str:
    return PALETTE[i % len(PALETTE)]


def human(v: float) -> str:
    """12,345 → 12.3k; token counts read like MMedC's table (B, M, k)."""
    v = float(v)
    for div, unit in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
        if abs(v) >= div:
            return f"{v / div:.3g}{unit}"
    return f"{v:.3g}" if v != int(v) else str(int(v))


def _legend(names: list[str], x: float, y: float) -> str:
    parts, cx = [], x
    for i, n in enumerate(names):
        parts.append(f'<rect x="{cx:.1f}" y="{y - 9}" width="10" height="10" fill="{color(i)}"/>'
                     f'<text x="{cx + 14:.1f}" y="{y}" font-size="11">{escape(n)}</text>')
        cx += 24 + 7 * len(n)
    return "".join(parts)


def bars(rows: list[str], series: list[tuple[str, list[float]]], stacked: bool = False, width: int = 720,
         label_width: int = 130, unit: str = "", chart_id: str = "") -> str:
    """Horizontal bars: one band per row; per series a bar (grouped) or a segment (stacked)."""
    if not rows or not series:
        return '<p class="empty">no data</p>'
    band = 8 + (14 if stacked else 10 * len(series))
    top, plot_w = 28, width - label_width - 70
    height = top + band * len(rows) + 10
    totals = [sum(s[1][r] for s in series) for r in range(len(rows))] if stacked else \
        [max(s[1][r] for s in series) for r in range(len(rows))]
    vmax = max(max(totals), 1e-12)
    out = [f'<svg class="chart" data-chart="{escape(chart_id)}" xmlns="http://www.w3.org/2000/svg" '
           f'width="{width}" height="{height}" viewBox="0 0 {width} {height}" role="img">',
           _legend([s[0] for s in series], label_width, 14)]
    for r, row in enumerate(rows):
        y = top + r * band
        out.append(f'<text x="{label_width - 6}" y="{y + band / 2 + 3:.1f}" font-size="11" text-anchor="end">'
                   f'{escape(row)}</text>')
        x = label_width
        for i, (name, vals) in enumerate(series):
            v = vals[r]
            w = plot_w * v / vmax
            tip = f"<title>{escape(row)} · {escape(name)}: {v:,.6g}{unit}</title>"
            if stacked:
                if w > 0:
                    out.append(f'<rect class="mark" x="{x:.1f}" y="{y + 4}" width="{w:.1f}" height="14" fill="{color(i)}">{tip}</rect>')
                x += w
            else:
                by = y + 4 + 10 * i
                out.append(f'<rect class="mark" x="{label_width}" y="{by}" width="{max(w, 0.5 if v else 0):.1f}" height="9" '
                           f'fill="{color(i)}">{tip}</rect>')
        if stacked or len(series) == 1:
            out.append(f'<text x="{label_width + plot_w * totals[r] / vmax + 4:.1f}" y="{y + band / 2 + 3:.1f}" '
                       f'font-size="10" fill="#444">{human(totals[r])}</text>')
    out.append("</svg>")
    return "".join(out)


def histogram(edges: list[float], counts: list[int], thresholds: list[tuple[float, str]] = (),
              width: int = 340, height: int = 150, title: str = "", chart_id: str = "", series: int = 0) -> str:
    """Vertical histogram over `edges` (len(counts) + 1 values) with dashed threshold lines."""
    if not counts or sum(counts) == 0:
        return f'<div class="hist"><div class="htitle">{escape(title)}</div><p class="empty">no data</p></div>'
    left, right, top, bottom = 34, 10, 22, 24
    pw, ph = width - left - right, height - top - bottom
    lo, hi = edges[0], edges[-1]
    span = (hi - lo) or 1.0
    cmax = max(counts)

    def xpos(v):
        return left + pw * (min(max(v, lo), hi) - lo) / span

    out = [f'<svg class="chart" data-chart="{escape(chart_id)}" xmlns="http://www.w3.org/2000/svg" width="{width}" '
           f'height="{height}" viewBox="0 0 {width} {height}" role="img">',
           f'<text x="{left}" y="13" font-size="11" font-weight="bold">{escape(title)}</text>',
           f'<line x1="{left}" y1="{top + ph}" x2="{left + pw}" y2="{top + ph}" stroke="#888"/>',
           f'<text x="{left - 4}" y="{top + 8}" font-size="9" text-anchor="end">{cmax}</text>',
           f'<text x="{left - 4}" y="{top + ph}" font-size="9" text-anchor="end">0</text>']
    for i, c in enumerate(counts):
        if not c:
            continue
        x0, x1 = xpos(edges[i]), xpos(edges[i + 1])
        h = ph * c / cmax
        out.append(f'<rect class="mark" x="{x0 + 0.5:.1f}" y="{top + ph - h:.1f}" width="{max(x1 - x0 - 1, 1):.1f}" '
                   f'height="{h:.1f}" fill="{color(series)}"><title>{edges[i]:.4g}–{edges[i + 1]:.4g}: {c}</title></rect>')
    for v, anchor in ((lo, "start"), (hi, "end")):
        out.append(f'<text x="{xpos(v):.1f}" y="{height - 8}" font-size="9" text-anchor="{anchor}">{v:.3g}</text>')
    for v, label in thresholds:
        x = xpos(v)
        out.append(f'<line class="threshold" x1="{x:.1f}" y1="{top - 4}" x2="{x:.1f}" y2="{top + ph}" stroke="{THRESHOLD}" '
                   f'stroke-width="2" stroke-dasharray="4 3"><title>{escape(label)}</title></line>'
                   f'<text x="{x + 3:.1f}" y="{top + 6}" font-size="9" fill="{THRESHOLD}">{escape(label)}</text>')
    out.append("</svg>")
    return "".join(out)
