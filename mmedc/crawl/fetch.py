"""One HTTP GET with the crawler's limits: public addresses only, size and time caps, no redirects
followed (a redirect is a response of its own; its target goes back through the frontier's rules).

The body is kept as the server sent it (Content-Encoding included) so the WARC holds the real
response; the de-chunked body is stored, so Transfer-Encoding is left out of the archived headers.
"""
from __future__ import annotations

import time
import zlib
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from mmedc.crawl.safety import Refused, check_address, resolve

ACCEPT = "text/html,application/xhtml+xml;q=0.9,text/plain;q=0.5,*/*;q=0.1"
RETRY_STATUS = {429, 500, 502, 503, 504}


@dataclass
class Fetched:
    url: str
    status: int
    reason: str
    headers: list[tuple[str, str]]
    body: bytes
    ip: str
    request_headers: list[tuple[str, str]] = field(default_factory=list)
    truncated: str | None = None  # "length" / "time": the body was cut at a limit (WARC-Truncated)
    seconds: float = 0.0

    def header(self, name: str) -> str | None:
        name = name.lower()
        return next((v for k, v in self.headers if k.lower() == name), None)

    def decoded_body(self, limit: int) -> bytes:
        """The body with Content-Encoding undone (for link extraction), at most `limit` bytes."""
        enc = (self.header("Content-Encoding") or "").lower().strip()
        if enc in ("gzip", "x-gzip", "deflate"):
            try:
                d = zlib.decompressobj(zlib.MAX_WBITS | 32 if enc != "deflate" else zlib.MAX_WBITS)
                return d.decompress(self.body, limit)
            except zlib.error:
                try:  # raw deflate without zlib header, as some servers send
                    return zlib.decompressobj(-zlib.MAX_WBITS).decompress(self.body, limit)
                except zlib.error:
                    return b""
        return self.body[:limit]


class Fetcher:
    def __init__(self, user_agent: str, timeout: float, page_time: float, max_bytes: int, allow_private: bool):
        import urllib3

        self.user_agent, self.page_time, self.max_bytes = user_agent, page_time, max_bytes
        self.allow_private = allow_private
        # No proxies from the environment, no automatic retries or redirects: the crawler decides.
        self.pool = urllib3.PoolManager(num_pools=32, maxsize=1, retries=False,
                                        timeout=urllib3.Timeout(connect=timeout, read=timeout))

    def get(self, url: str) -> Fetched:
        """Raises Refused (a non-public address: before connecting, or once connected), or OSError / urllib3
        errors for network failures."""
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise Refused(f"not an http(s) URL: {url}")
        port = parts.port or (443 if parts.scheme == "https" else 80)
        ip = resolve(parts.hostname, port, self.allow_private)
        sent = [("User-Agent", self.user_agent), ("Accept", ACCEPT), ("Accept-Encoding", "gzip, deflate")]
        host = parts.hostname if ":" not in parts.hostname else f"[{parts.hostname}]"
        req_headers = [("Host", host if parts.port is None else f"{host}:{parts.port}")] + sent  # as archived
        t0 = time.monotonic()
        r = self.pool.request("GET", url, headers=dict(sent), redirect=False, preload_content=False,
                              decode_content=False)
        body, truncated = bytearray(), None
        try:
            peer = _peer_ip(r)
            if peer:
                check_address(peer, self.allow_private)  # the address really connected to (DNS rebinding)
                ip = peer
            for chunk in r.stream(16 << 10, decode_content=False):
                body += chunk
                if len(body) > self.max_bytes:
                    del body[self.max_bytes:]
                    truncated = "length"
                    break
                if time.monotonic() - t0 > self.page_time:
                    truncated = "time"
                    break
        except BaseException:
            r.close()
            raise
        if truncated:
            r.close()  # a half-read connection cannot be reused
        else:
            r.release_conn()
        headers = [(k, v) for k, v in r.headers.items() if k.lower() != "transfer-encoding"]
        return Fetched(url, r.status, r.reason or "", headers, bytes(body), ip, req_headers, truncated,
                       time.monotonic() - t0)


def _peer_ip(r) -> str | None:
    try:
        return r.connection.sock.getpeername()[0]
    except Exception:  # noqa: BLE001 - the connection object differs across urllib3 versions
        return None
