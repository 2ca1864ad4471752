"""The bundled pretraining stage: packed Parquet shards → a causal LM on Ray Train."""
