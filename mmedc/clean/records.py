"""Cleaning of loose records (`mmedc clean`, JSONL or Parquet): the three pipeline steps, annotating instead of dropping."""
from __future__ import annotations

from pathlib import Path

from mmedc.classify.packs import PackError, available_packs, load_pack
from mmedc.clean import pii, quality
from mmedc.clean.decontam import DecontamIndex
from mmedc.clean.steps import decontam_outcome, pii_rules, quality_outcome
from mmedc.sources.jsonl import Loose, json_objects

BATCH = 256  # records identified together by fastText


class Cleaner:
    def __init__(self, index: Path | None = None, lang: str | None = None, min_coverage: float = 0.5):
        self.index = DecontamIndex(index) if index else None
        self.min_coverage = min_coverage
        if lang:
            load_pack(lang)  # an unknown --lang is an error up front
        self.lang = lang
        self._labels = None

    def _identify(self, texts: list[str]) -> list[str]:
        from mmedc.classify.langid import identify

        if self._labels is None:
            self._labels = {lab: code for code in available_packs() for lab in load_pack(code).lid_labels}
        return [self._labels.get(label, label) for label, _ in identify(texts, "")]

    def clean_record(self, rec: dict) -> dict:
        text, lang = rec["text"], rec["lang"]
        try:
            q = quality_outcome(text, lang)
            failed = q.scores.get("quality_failed", [])
            rec["text"], counts = pii.scrub(text, pii_rules(lang))
        except PackError:  # no pack for this language: generic rules (no stop words, phones or ids)
            _, rules = quality.assess(text, quality.QualityRules(), False)
            failed = [f[0] for f in rules]
            rec["text"], counts = pii.scrub(text, pii.PiiRules())
        rec["quality"] = failed[0] if failed else "kept"
        rec["quality_failed"] = failed
        rec["pii"] = sum(counts.values())
        d = decontam_outcome(self.index, rec["text"], self.min_coverage)
        rec["contaminated"] = d.decision != "kept"
        rec["matched"] = d.scores.get("decontam_item") if rec["contaminated"] else None
        return rec

    def clean_lines(self, lines):
        """Yield one output record per non-empty input line (text lines), in order."""
        items = (Loose(n, rec, err) for n, rec, err in json_objects(lines))
        yield from self.clean_items(items)

    def clean_items(self, items):
        """Yield one output record per Loose item (mmedc.sources.jsonl.read_records), in order; an
        unreadable line becomes its error record ({"line": N, "error": ...})."""
        batch: list[dict] = []
        for item in items:
            if item.error is None and not isinstance(item.obj.get("text"), str):
                item.error = "no_text: no string `text` field"
            batch.append(item.obj if item.error is None else item.error_record())
            if len(batch) >= BATCH:
                yield from self._flush(batch)
                batch = []
        yield from self._flush(batch)

    def _flush(self, batch: list[dict]):
        todo = [r for r in batch if "error" not in r and not r.get("lang") and not self.lang]
        if todo:
            for r, code in zip(todo, self._identify([r["text"] for r in todo])):
                r["lang"] = code
        for r in batch:
            if "error" in r:
                yield r
                continue
            r.setdefault("lang", None)
            r["lang"] = r["lang"] or self.lang
            try:
                yield self.clean_record(r)
            except Exception as e:  # noqa: BLE001 - one bad record is reported, the file goes on
                r["error"] = f"{type(e).__name__}: {e}"[:300]
                yield r
