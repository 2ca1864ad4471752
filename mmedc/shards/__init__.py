"""Tokenized Parquet shards and the run manifest."""
