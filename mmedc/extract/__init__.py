"""Text extraction: HTML main text (trafilatura), PDF text layer (PyMuPDF) and OCR (tesseract)."""
