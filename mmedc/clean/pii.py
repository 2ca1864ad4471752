"""PII scrubbing: e-mail addresses, phone numbers, IP addresses, credentials in URLs and the national
identifier / health-insurance numbers a language pack defines, each replaced by a typed placeholder.

Medical text is full of numbers (doses, lab values, ICD codes, dates, blood pressures), so every
numeric match is *validated* before it is replaced: phone numbers by Google's libphonenumber
(`phonenumbers`, leniency VALID, for the regions of the pack's countries), identifiers by their check
digits (`python-stdnum`), IP addresses by `ipaddress`.
"""
from __future__ import annotations

import functools
import importlib
import ipaddress
from dataclasses import dataclass, field

# `regex` rather than `re`: these patterns start with a lookbehind, where `re` tries the whole pattern
# at every character; `regex` finds the same matches 8-10x faster (IPv4: 220 -> 21 us per 3.7 KB page).
import regex as re

PLACEHOLDERS = {"email": "<EMAIL>", "phone": "<PHONE>", "ip": "<IP>", "credentials": "<CREDENTIALS>",
                "national_id": "<NATIONAL_ID>", "insurance_id": "<INSURANCE_ID>"}

EMAIL = re.compile(r"(?<![\w.+-])[\w.+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}\b")
# scheme://user:password@host — only the user:password part is replaced.
URL_CREDENTIALS = re.compile(r"(?<=://)[^\s/:@]+:[^\s/@]+(?=@[\w.-])")
IPV4 = re.compile(r"(?<![\d.])(?:(?:25[0-5]|2[0-4]\d|1?\d?\d)\.){3}(?:25[0-5]|2[0-4]\d|1?\d?\d)(?![\d.]\d|\w)")
IPV6_CANDIDATE = re.compile(r"(?<![\w:])[0-9A-Fa-f]{0,4}(?::[0-9A-Fa-f]{0,4}){2,7}(?![\w:])")
# Text that could hold a phone number: a digit run with separators, 7+ characters long. Only these
# windows go to libphonenumber (the matcher is slow on long texts full of numbers).
PHONE_CANDIDATE = re.compile(r"(?:\+|\(\+?)?\d[\d\s().\-/]{5,}\d")
DATE = re.compile(r"\d{4}[-/.]\d{1,2}[-/.]\d{1,2}|\d{1,2}[-/.]\d{1,2}[-/.]\d{2,4}")
RATE = re.compile(r"\s*\d{1,2}\s*/")  # "3/100 000", "1/1000": rates; German "030/1234567" has 3+ digits
MIN_PHONE_DIGITS = 7  # shorter "valid" numbers (service numbers, some small countries) are mostly years and counts


class PiiConfigError(ValueError):
    pass


@dataclass
class IdPattern:
    name: str  # e.g. "fr_nir"
    kind: str  # "national_id" or "insurance_id": the placeholder
    pattern: str  # regex for candidates
    validate: str = ""  # python-stdnum module (e.g. "fr.nir"); empty = the pattern alone decides

    def __post_init__(self):
        if self.kind not in ("national_id", "insurance_id"):
            raise PiiConfigError(f"pii id {self.name!r}: kind must be national_id or insurance_id")
        try:
            self.regex = re.compile(self.pattern)
        except re.error as e:
            raise PiiConfigError(f"pii id {self.name!r}: bad pattern: {e}") from None
        self.validator = None
        if self.validate:
            try:
                self.validator = importlib.import_module(f"stdnum.{self.validate}")
            except ImportError:
                raise PiiConfigError(f"pii id {self.name!r}: no python-stdnum module {self.validate!r}") from None


@dataclass
class PiiRules:
    phone_regions: list[str] = field(default_factory=list)  # ISO 3166 codes; "+" numbers are found for any region
    ids: list[IdPattern] = field(default_factory=list)
    emails: bool = True
    phones: bool = True
    ips: bool = True
    credentials: bool = True


def rules_for_pack(pack) -> PiiRules:
    table = dict(pack.extra.get("pii", {}))
    known = {"phone_regions", "ids", "emails", "phones", "ips", "credentials"}
    if set(table) - known:
        raise PiiConfigError(f"{pack.path or pack.code} [pii]: unknown key(s) {sorted(set(table) - known)}")
    ids = []
    for t in table.pop("ids", []):
        try:
            ids.append(IdPattern(**t))
        except TypeError as e:
            raise PiiConfigError(f"{pack.path or pack.code} [[pii.ids]]: {e}") from None
    return PiiRules(ids=ids, **table)


@functools.lru_cache(maxsize=None)
def _phonenumbers():
    import phonenumbers

    return phonenumbers


def _valid_ip(s: str) -> bool:
    try:
        addr = ipaddress.ip_address(s)
    except ValueError:
        return False
    # "::" alone or times like 12:30:45 are not addresses; real IPv6 text has ≥ 3 groups or "::".
    return addr.version == 4 or s.count(":") >= 3 or ("::" in s and len(s) > 2)


def find(text: str, rules: PiiRules) -> list[tuple[int, int, str]]:
    """Spans (start, end, kind), non-overlapping; earlier kinds win over later ones."""
    spans: list[tuple[int, int, str]] = []

    def add(a, b, kind):
        if all(b <= s or a >= e for s, e, _ in spans):
            spans.append((a, b, kind))

    if rules.credentials and "://" in text:
        for m in URL_CREDENTIALS.finditer(text):
            add(m.start(), m.end(), "credentials")
    if rules.emails and "@" in text:
        for m in EMAIL.finditer(text):
            add(m.start(), m.end(), "email")
    for p in rules.ids:
        for m in p.regex.finditer(text):
            if p.validator is None or p.validator.is_valid(m.group()):
                add(m.start(), m.end(), p.kind)
    if rules.ips:
        for m in IPV4.finditer(text):
            add(m.start(), m.end(), "ip")
        if "::" in text or text.count(":") >= 3:
            for m in IPV6_CANDIDATE.finditer(text):
                if _valid_ip(m.group()):
                    add(m.start(), m.end(), "ip")
    if rules.phones:
        pn = _phonenumbers()
        # "ZZ" (no region) still finds international numbers written with "+".
        regions = rules.phone_regions or ["ZZ"]
        for c in PHONE_CANDIDATE.finditer(text):
            # A little context on each side lets libphonenumber see what surrounds the number.
            a, b = max(c.start() - 2, 0), min(c.end() + 2, len(text))
            window = text[a:b]
            for region in regions:
                found = False
                for m in pn.PhoneNumberMatcher(window, region, leniency=pn.Leniency.VALID):
                    raw = m.raw_string
                    if (sum(ch.isdigit() for ch in raw) >= MIN_PHONE_DIGITS and not DATE.fullmatch(raw.strip())
                            and not RATE.match(raw)):
                        add(a + m.start, a + m.end, "phone")
                        found = True
                if found:
                    break  # the first region (the pack's main country first) that reads the window wins
    return sorted(spans)


def scrub(text: str, rules: PiiRules) -> tuple[str, dict[str, int]]:
    """The text with every PII span replaced by its placeholder, and counts per kind."""
    spans = find(text, rules)
    if not spans:
        return text, {}
    out, pos, counts = [], 0, {}
    for a, b, kind in spans:
        out.append(text[pos:a])
        out.append(PLACEHOLDERS[kind])
        counts[kind] = counts.get(kind, 0) + 1
        pos = b
    out.append(text[pos:])
    return "".join(out), counts
