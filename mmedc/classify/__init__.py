"""Language ID, language packs and the medical filter."""
