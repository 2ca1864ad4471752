"""Import PyMuPDF without its layout model.

pymupdf 2.0 pulls in `pymupdf_layout`, whose import loads an ONNX layout model (seconds per process,
in every Ray worker) that mmedc never uses: the text layer comes from `get_text("blocks")`. Marking the
sub-module absent makes pymupdf skip it (it imports it in a try/except ImportError).
MMEDC_PYMUPDF_LAYOUT=1 keeps it.
"""
from __future__ import annotations

import os
import sys


def load_pymupdf():
    if "pymupdf" not in sys.modules and os.environ.get("MMEDC_PYMUPDF_LAYOUT") != "1":
        sys.modules.setdefault("pymupdf.layout", None)  # type: ignore[assignment]
    import pymupdf as m

    return m
