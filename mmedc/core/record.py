"""What a reader yields: one Record per thing it read, good or bad, so nothing is lost silently."""
from __future__ import annotations

import json
from dataclasses import dataclass, field

from mmedc.core.decisions import DROPPED, FAILED, KEPT


@dataclass
class Record:
    id: str
    decision: str
    reason: str | None = None
    text: str | None = None
    url: str | None = None
    meta: dict = field(default_factory=dict)

    @classmethod
    def ok(cls, id: str, text: str, url: str | None = None, **meta) -> "Record":
        if not text or not text.strip():
            return cls(id, DROPPED, "no_text", url=url, meta=meta)
        return cls(id, KEPT, None, text, url, meta)

    @classmethod
    def failed(cls, id: str, reason: str, **meta) -> "Record":
        return cls(id, FAILED, reason, meta=meta)

    @classmethod
    def dropped(cls, id: str, reason: str, **meta) -> "Record":
        return cls(id, DROPPED, reason, meta=meta)

    def to_doc(self, source: str, lang_hint: str | None) -> dict:
        url = self.url if self.url is None or isinstance(self.url, str) else json.dumps(self.url, default=str)
        return {"id": self.id, "source": source, "text": self.text, "url": url,
                "lang_hint": lang_hint,
                "meta": json.dumps(self.meta, ensure_ascii=False, sort_keys=True, default=str) if self.meta else "{}"}
