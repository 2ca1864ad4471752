"""robots.txt per host, fetched once per run before any page of that host.

Parsed with protego (Scrapy's parser: RFC 9309 longest match, `*` and `$` wildcards, Crawl-delay,
Request-rate); urllib.robotparser reads `Disallow: /*?print` as a literal prefix and so ignores it.
Status handling follows RFC 9309: 2xx → the rules; 4xx → no rules (everything allowed); 5xx or no
answer → the whole host is disallowed for this run (the server cannot say what it allows).
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass
class HostRules:
    parser: object | None  # protego.Protego; None with allow_all / deny_all
    allow_all: bool = False
    deny_all: bool = False
    delay: float | None = None  # crawl-delay (or seconds / requests of request-rate) for our user agent
    status: str = ""

    def allowed(self, url: str, user_agent: str) -> bool:
        if self.deny_all:
            return False
        if self.allow_all or self.parser is None:
            return True
        return self.parser.can_fetch(url, user_agent)


def rules_from_response(status: int | None, body: bytes, user_agent: str) -> HostRules:
    from protego import Protego

    if status is None or status >= 500:
        return HostRules(None, deny_all=True, status=f"unreachable ({status or 'no answer'})")
    if status >= 400:
        return HostRules(None, allow_all=True, status=f"{status}: no robots.txt")
    if not 200 <= status < 300:
        return HostRules(None, allow_all=True, status=f"{status}")
    rp = Protego.parse(body.decode("utf-8", errors="replace"))
    delay = rp.crawl_delay(user_agent)
    rate = rp.request_rate(user_agent)
    if delay is None and rate is not None and rate.requests:
        delay = rate.seconds / rate.requests
    return HostRules(rp, delay=float(delay) if delay is not None else None, status=f"{status}")
