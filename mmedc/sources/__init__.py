"""Readers: turn one input file into records (documents, or per-record drops and failures)."""
from mmedc.sources.base import Record
from mmedc.sources.registry import read_file

__all__ = ["Record", "read_file"]
