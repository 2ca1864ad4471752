"""One HTTP GET with the crawler's limits: public addresses only, size and time caps, no redirects
followed (a redirect is a response of its own; its target goes back through the frontier's rules).

The body is kept as the server sent it (Content-Encoding included) so the WARC holds the real
response; the de-chunked body is stored, so Transfer-Encoding is left out of the archived headers.

Time: `timeout` bounds each wait for the network (connect, every read); `page_time` bounds the whole
exchange, headers included, and so does the caller's deadline (the crawl's --max-time). A socket
timeout alone does not: a server sending one byte every few seconds never trips it. A watchdog
timer hangs up the connection at the deadline, whatever the fetch is waiting on.
"""
from __future__ import annotations

import socket
import threading
import time
import zlib
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from mmedc.crawl.safety import Refused, check_address, resolve

ACCEPT = "text/html,application/xhtml+xml;q=0.9,application/pdf;q=0.8,text/plain;q=0.5,*/*;q=0.1"
RETRY_STATUS = {429, 500, 502, 503, 504}


class RunDeadline(Exception):
    """The caller's deadline (the crawl's --max-time) came before the response was complete."""


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
    declined: str | None = None  # the caller's `limit` refused the body after the headers: not read

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


class _Watchdog:
    """Hangs up `conn` at `at` (monotonic): shutting the socket down wakes any blocked read."""

    def __init__(self, conn, at: float):
        self.conn, self.fired = conn, threading.Event()
        self.timer = threading.Timer(max(at - time.monotonic(), 0.0), self._hang_up)
        self.timer.daemon = True
        self.timer.start()

    def _hang_up(self):
        self.fired.set()
        sock = getattr(self.conn, "sock", None)
        if sock is not None:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def cancel(self):
        self.timer.cancel()


class Fetcher:
    def __init__(self, user_agent: str, timeout: float, page_time: float, max_bytes: int, allow_private: bool):
        self.user_agent, self.timeout, self.page_time, self.max_bytes = user_agent, timeout, page_time, max_bytes
        self.allow_private = allow_private

    def get(self, url: str, deadline: float | None = None, limit=None) -> Fetched:
        """`limit(fetched)`, called once the headers are in (the body still empty), returns the body's
        byte cap and a reason to decline it (or None): a declined body is never read (`declined` set).
        Without it the cap is max_bytes.

        Raises Refused (a non-public address: before connecting, or once connected, before sending
        anything), RunDeadline (`deadline`, monotonic, came first), TimeoutError (no complete response
        headers within page_time), or OSError / urllib3 errors for network failures. One connection per
        fetch, closed after it: nothing is reused, no proxy from the environment, no automatic retry."""
        from urllib3.connection import HTTPConnection, HTTPSConnection

        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise Refused(f"not an http(s) URL: {url}")
        port = parts.port or (443 if parts.scheme == "https" else 80)
        ip = resolve(parts.hostname, port, self.allow_private)
        t0 = time.monotonic()
        end = t0 + self.page_time
        by_caller = deadline is not None and deadline < end
        end = deadline if by_caller else end
        if end <= t0:
            raise RunDeadline("no time left")
        sent = [("User-Agent", self.user_agent), ("Accept", ACCEPT), ("Accept-Encoding", "gzip, deflate"),
                ("Connection", "close")]
        host = parts.hostname if ":" not in parts.hostname else f"[{parts.hostname}]"
        req_headers = [("Host", host if parts.port is None else f"{host}:{parts.port}")] + sent  # as archived
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        cls = HTTPSConnection if parts.scheme == "https" else HTTPConnection
        conn = cls(parts.hostname, port, timeout=min(self.timeout, end - t0))  # connect
        dog = _Watchdog(conn, end)

        def late(what: str) -> Exception:
            if by_caller:
                return RunDeadline(f"the crawl's time ran out {what}")
            return TimeoutError(f"page_time ({self.page_time:g}s) passed {what}")

        try:
            try:
                conn.connect()
                conn.sock.settimeout(self.timeout)  # between bytes; the watchdog keeps the deadline
                peer = _peer_ip(conn)
                if peer:
                    check_address(peer, self.allow_private)  # the address really connected to (DNS rebinding)
                    ip = peer
                conn.request("GET", target, headers=dict(sent), preload_content=False, decode_content=False)
                r = conn.getresponse()
            except Refused:
                raise
            except Exception:
                if dog.fired.is_set() or time.monotonic() >= end:
                    raise late("before the response headers") from None
                raise
            headers = [(k, v) for k, v in r.headers.items() if k.lower() != "transfer-encoding"]
            head = Fetched(url, r.status, r.reason or "", headers, b"", ip, req_headers)
            cap, declined = limit(head) if limit else (self.max_bytes, None)
            if declined:
                head.declined, head.seconds = declined, time.monotonic() - t0
                return head
            body, truncated, whole = bytearray(), None, False
            try:
                while True:
                    chunk = r.read1(16 << 10, decode_content=False)  # what has arrived, not a full block
                    if not chunk:  # an end of data, unless it is the watchdog's hang-up
                        whole = not (dog.fired.is_set() or time.monotonic() >= end)
                        break
                    body += chunk
                    if len(body) > cap:
                        del body[cap:]
                        truncated = "length"
                        break
                    if time.monotonic() >= end:
                        break
            except Exception:
                if not (dog.fired.is_set() or time.monotonic() >= end):
                    raise
            if truncated is None and not whole:
                if by_caller:
                    raise late("while the body was read")
                if not body:  # nothing of the page to archive: a failure, retried like a read timeout
                    raise late("before any of the body")
                truncated = "time"
        finally:
            dog.cancel()
            conn.close()
        return Fetched(url, r.status, r.reason or "", headers, bytes(body), ip, req_headers, truncated,
                       time.monotonic() - t0)


def _peer_ip(conn) -> str | None:
    try:
        return conn.sock.getpeername()[0]
    except Exception:  # noqa: BLE001
        return None
