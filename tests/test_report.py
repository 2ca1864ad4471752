"""`mmedc report`: the HTML page's content, and that its charts render in a real headless browser."""
import json
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from mmedc.report import build_report
from mmedc.report.svg import human

CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--hide-scrollbars"]
WINDOW = (1280, 4000)


@pytest.fixture(scope="module")
def report(sample_run, tmp_path_factory) -> Path:
    return build_report(sample_run, tmp_path_factory.mktemp("report") / "report.html")


def test_report_is_self_contained_and_complete(report, sample_run):
    html = report.read_text()
    # Nothing to fetch: no external scripts, styles, images or fonts (xmlns is a name, not a fetch).
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", html)
    assert "<link" not in html and "url(" not in html and "@import" not in html
    for title in ("Funnel per step and language", "Tokens by language × source", "Score histograms",
                  "OCR confidence per book", "Duplicates per source", "audit check passed"):
        assert title in html, title
    manifest = json.loads((sample_run / "manifest.json").read_text())
    # The token table has one row per language with the manifest's totals.
    for lang, v in manifest["totals"]["by_lang"].items():
        assert re.search(rf"<td class=\"l\">{lang}</td>.*?<td class=\"\">{re.escape(human(v['tokens']))}</td></tr>", html), lang
    # Thresholds drawn: one line per language for the LID score and for the score the active medical
    # classifier decided on (the sample uses `terms`: medical_score >= 1, not the rule's U and D).
    langs = set(manifest["totals"]["by_lang"])
    assert html.count('class="threshold"') >= 2 * len(langs)
    assert "medical score (terms" in html and "min 1<" in html
    assert "keyword density D" not in html
    assert "clinical_notes.pdf" in html  # the sample's book, with its OCR confidence
    assert html.count('<svg class="chart"') >= 3 + 2 * len(langs)


def _chromium(args: list[str], timeout: int = 120) -> subprocess.CompletedProcess:
    exe = shutil.which("chromium") or shutil.which("chromium-browser")
    with tempfile.TemporaryDirectory() as profile:
        return subprocess.run([exe, *CHROMIUM_FLAGS, f"--user-data-dir={profile}",
                               f"--window-size={WINDOW[0]},{WINDOW[1]}", *args],
                              capture_output=True, text=True, timeout=timeout)


@pytest.mark.skipif(not (shutil.which("chromium") or shutil.which("chromium-browser")), reason="chromium not installed")
def test_charts_render_in_headless_chromium(report, tmp_path):
    import numpy as np
    from PIL import Image

    url = report.resolve().as_uri()
    dom = _chromium(["--dump-dom", url]).stdout
    # The page's own script measured what the browser drew: every chart has visible marks.
    n = int(re.search(r'data-charts="(\d+)"', dom).group(1))
    assert n >= 5 and re.search(r'data-charts-drawn="(\d+)"', dom).group(1) == str(n)
    boxes = [tuple(map(int, b.split(","))) for b in re.findall(r'data-box="([\d,-]+)"', dom)]
    assert len(boxes) == n
    shot = tmp_path / "report.png"
    _chromium([f"--screenshot={shot}", url])
    img = Image.open(shot).convert("RGB")
    assert img.size == WINDOW

    def coloured(box) -> int:
        """Pixels of a chart colour (saturated), not background, text or grid (greys)."""
        x, y, w, h = box
        px = np.asarray(img.crop((x, y, x + w, y + h)), dtype=np.int16)
        return int(((px.max(axis=2) - px.min(axis=2)) > 60).sum())

    visible = [b for b in boxes if b[1] + b[3] <= WINDOW[1]]
    assert len(visible) >= 5
    for box in visible:
        assert coloured(box) > 30, f"chart at {box} drew nothing"
    # Control: the blank strip right of the charts has no chart colour.
    assert coloured((1220, 0, 50, 1500)) == 0
