"""The reader-facing names (kept here for readers; defined in mmedc.core)."""
from mmedc.core.errors import short_error
from mmedc.core.record import Record

__all__ = ["Record", "short_error"]
