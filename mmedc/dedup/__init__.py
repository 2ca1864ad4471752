"""Deduplication: exact (normalised text hash) and MinHash LSH near-duplicates."""
