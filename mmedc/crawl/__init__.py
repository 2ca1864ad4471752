"""A focused, polite crawler for medical websites that archives every response as WARC."""
