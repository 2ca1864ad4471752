"""What a reader yields: one Record per thing it read, good or bad, so nothing is lost silently.

`Record.checked()` is the engine's gate between any reader and the disk: a record whose fields
cannot be stored (a lone surrogate from a `"\\ud800"` JSON escape, a document over `[limits]`, an id
that is not text, metadata that is not JSON) becomes a `failed` record with the reason, so one bad
record fails alone, never its file or the run."""
from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field

from mmedc.core.decisions import DROPPED, FAILED, KEPT

_SURROGATE = re.compile("[\ud800-\udfff]")


def lone_surrogate(s: str) -> int:
    """Index of the first lone surrogate in s (UTF-8 cannot encode one, so Arrow cannot store it), or -1."""
    if s.isascii():  # O(1) in CPython: an ASCII string has no surrogate
        return -1
    m = _SURROGATE.search(s)
    return m.start() if m else -1


def printable(s, limit: int = 300) -> str:
    """s as text that can always be written: surrogates escaped, at most `limit` characters."""
    s = s if isinstance(s, str) else repr(s)
    s = s[:limit]
    return s.encode("utf-8", "backslashreplace").decode("utf-8") if lone_surrogate(s) >= 0 else s


@dataclass
class Record:
    id: str
    decision: str
    reason: str | None = None
    text: str | None = None
    url: str | None = None
    meta: dict = field(default_factory=dict)
    # The record's place in its input ("src:file#line"), when the reader knows it: the id of its
    # failed row when its own id cannot be used (a repeated id, an unstorable one).
    where: str | None = None
    unicode_ok: bool = False  # the reader guarantees no lone surrogates (Arrow / UTF-8 decoded text)
    meta_json: str | None = field(default=None, repr=False)  # set by checked()

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

    def _fail(self, reason: str, id: str | None = None) -> "Record":
        return Record(id or self.id, FAILED, reason, where=self.where)

    def safe_id(self, max_chars: int) -> str | None:
        """An id that can be written to the audit when this one cannot (None when it can)."""
        if isinstance(self.id, str) and len(self.id) <= max_chars and lone_surrogate(self.id) < 0:
            return None
        if self.where:
            return printable(self.where, 1000)  # a file name may hold surrogates (undecodable bytes)
        raw = self.id if isinstance(self.id, str) else repr(self.id)
        digest = hashlib.sha1(raw.encode("utf-8", "surrogatepass")).hexdigest()[:12]
        return f"{printable(raw, 80)}~{digest}"

    def checked(self, max_doc_chars: int = 10_000_000, max_id_chars: int = 1000) -> "Record":
        """This record if every field can be stored, else a failed record saying which field and why."""
        safe = self.safe_id(max_id_chars)
        if safe is not None:
            what = ("is not text" if not isinstance(self.id, str) else
                    f"is longer than {max_id_chars} characters" if len(self.id) > max_id_chars else "has a lone surrogate")
            return self._fail(f"bad_id: the id {what}", safe)
        if self.reason is not None and (not isinstance(self.reason, str) or lone_surrogate(self.reason) >= 0):
            self.reason = printable(self.reason)
        if self.decision != KEPT:
            if self.meta:
                try:  # its metadata only reaches the audit's detail: keep it when it can be written
                    lone = lone_surrogate(json.dumps(self.meta, ensure_ascii=False, default=str))
                except (TypeError, ValueError):
                    lone = 0
                if lone >= 0:
                    self.meta = {}
            return self
        if not isinstance(self.text, str):
            return self._fail(f"bad_field: text is {type(self.text).__name__}")
        if len(self.text) > max_doc_chars:
            return self._fail(f"limit: max_doc_chars: {len(self.text):,} characters > {max_doc_chars:,}")
        if not self.unicode_ok and (at := lone_surrogate(self.text)) >= 0:
            return self._fail(f"bad_text: lone surrogate U+{ord(self.text[at]):04X} at character {at}")
        if self.url is not None and not isinstance(self.url, str):
            # A number or an object where a URL belongs is kept, as its JSON text.
            self.url = json.dumps(self.url, ensure_ascii=False, sort_keys=True, default=str)
        if self.url is not None and lone_surrogate(self.url) >= 0:
            return self._fail("bad_field: url has a lone surrogate")
        try:  # values of any type are kept as JSON (default=str: dates, decimals, bytes)
            meta = json.dumps(self.meta, ensure_ascii=False, sort_keys=True, default=str) if self.meta else "{}"
        except (TypeError, ValueError) as e:
            return self._fail(f"bad_metadata: {printable(str(e), 200)}")
        if len(meta) > max_doc_chars:
            return self._fail(f"limit: max_doc_chars: metadata of {len(meta):,} characters > {max_doc_chars:,}")
        if lone_surrogate(meta) >= 0:
            return self._fail("bad_metadata: a value has a lone surrogate")
        self.meta_json = meta
        return self

    def to_doc(self, source: str, lang_hint: str | None) -> dict:
        url = self.url if self.url is None or isinstance(self.url, str) else json.dumps(self.url, default=str)
        meta = self.meta_json
        if meta is None:
            meta = json.dumps(self.meta, ensure_ascii=False, sort_keys=True, default=str) if self.meta else "{}"
        return {"id": self.id, "source": source, "text": self.text, "url": url, "lang_hint": lang_hint,
                "meta": meta}
