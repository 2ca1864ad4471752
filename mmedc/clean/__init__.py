"""Cleaning: quality heuristics per script, PII scrubbing, benchmark decontamination."""
