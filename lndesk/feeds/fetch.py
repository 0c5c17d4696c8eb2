"""Polite, bounded HTTP for feeds, on trio (httpx runs on it through anyio).

* conditional GET with both ``If-None-Match`` and ``If-Modified-Since``; 304 is "nothing new";
* redirects are followed here (at most :data:`MAX_REDIRECTS`), not by httpx, so that a
  chain of permanent ones (301, 308) is reported and remembered; a permanent redirect to
  another host is not followed at all: :class:`FeedMovedError` (the app pauses the feed);
* ``Retry-After`` of a 429 or 503 and ``Cache-Control: max-age`` are reported to the
  polling policy;
* every read is bounded: connect/read timeouts, a whole-request deadline, and a body cap
  enforced while the body streams, on the decompressed size: a gzip or deflate body is
  inflated here, never more than the cap's remainder at a time, so a gzip bomb stops at
  the cap and not after inflating a whole network read (64 KiB can inflate to 64 MiB).
"""

from __future__ import annotations

import datetime as dt
import email.utils
import logging
import re
import zlib
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

import httpx
import trio

from lndesk import __version__ as _version
from lndesk.errors import FeedError
from lndesk.webfeeds import MAX_DOCUMENT_BYTES, cut, web_url

log = logging.getLogger(__name__)

USER_AGENT = f"lndesk/{_version} (feed reader; polls each feed at most hourly)"
ACCEPT = (
    "application/atom+xml, application/rss+xml, application/feed+json, "
    "application/xml;q=0.9, text/xml;q=0.9, application/json;q=0.8, text/html;q=0.7, */*;q=0.1"
)
ACCEPT_ENCODING = "gzip, deflate"
"""The content codings asked for: those :func:`_inflater` reads with a bound."""
MAX_REDIRECTS = 5
REQUEST_DEADLINE_S = 60.0
PERMANENT = frozenset({301, 308})
TEMPORARY = frozenset({302, 303, 307})
_MAX_AGE = re.compile(r"(?:^|,)\s*max-age\s*=\s*\"?(\d{1,9})", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class Validators:
    """What the server said identifies the version we have (for a conditional GET)."""

    etag: str | None = None
    last_modified: str | None = None


@dataclass(frozen=True, slots=True)
class Fetched:
    status: int
    """200 (``body`` is the document) or 304 (nothing changed, ``body`` is empty)."""
    url: str
    """Where the document was read (after every redirect)."""
    moved_to: str | None
    """The new address when every redirect on the way was permanent: poll that from now."""
    body: bytes
    content_type: str
    validators: Validators
    max_age_s: int | None
    bytes_read: int


class FeedRefusedError(FeedError):
    """The feed's server answered with an error, or asked us to come back later."""

    def __init__(self, message: str, hint: str | None, status: int, retry_after_s: int | None):
        super().__init__(message, hint)
        self.status = status
        self.retry_after_s = retry_after_s


class FeedMovedError(FeedError):
    """The feed moved permanently to another site: followed only when you say so."""

    def __init__(self, url: str, target: str) -> None:
        super().__init__(
            f"the web feed at {url} moved to another site: {target}",
            "It is paused; look at the new address, then resume it to follow it there "
            f"(lndesk feeds resume {url}), or remove it.",
        )
        self.target = target


def retry_after(value: str | None, now_s: float) -> int | None:
    """A ``Retry-After`` header (seconds or an HTTP date) as seconds from ``now_s``."""
    if not value:
        return None
    value = value.strip()
    if value.isascii() and value.isdigit():  # str.isdigit alone takes "²", which int() refuses
        return min(int(value[:9]), 7 * 24 * 3600)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return max(0, min(int(when.timestamp() - now_s), 7 * 24 * 3600))


def max_age(value: str | None) -> int | None:
    """``Cache-Control``'s max-age in seconds (None without one, or with no-store)."""
    if not value or "no-store" in value.lower():
        return None
    match = _MAX_AGE.search(value)
    return int(match.group(1)) if match else None


def new_client() -> httpx.AsyncClient:
    """The one HTTP client of a node's feeds (connection pooling across feeds)."""
    return httpx.AsyncClient(
        follow_redirects=False,
        timeout=httpx.Timeout(20.0, connect=10.0),
        headers={"User-Agent": USER_AGENT, "Accept": ACCEPT, "Accept-Encoding": ACCEPT_ENCODING},
        limits=httpx.Limits(max_connections=20, max_keepalive_connections=10),
        trust_env=False,
    )


def _host(url: str) -> str:
    return (urlsplit(url).hostname or "").lower().removeprefix("www.")


def _too_large(url: str, cap: int, declared: int | None = None) -> FeedError:
    size = f" ({declared:,} bytes)" if declared is not None else ""
    return FeedError(
        f"the web feed at {url} is larger than {cap // (1024 * 1024)} MB{size}",
        "Ask its owner for a shorter web feed; lndesk does not read web feeds that large.",
    )


class _Inflater:
    """A ``gzip`` or ``deflate`` body inflated piece by piece, each piece at most the
    bytes asked for (``deflate`` is zlib-wrapped, or raw as some servers send it)."""

    def __init__(self, coding: str) -> None:
        self._raw_fallback = coding == "deflate"
        self._inflate = zlib.decompressobj(zlib.MAX_WBITS | (16 if coding != "deflate" else 0))
        self._tail = b""

    def feed(self, data: bytes) -> None:
        self._tail += data

    def take(self, room: int) -> bytes:
        """At most ``room`` bytes of what is inflated so far (b"" when it needs more input)."""
        data, self._tail = self._tail, b""
        if self._raw_fallback and len(data) < 2:
            self._tail = data  # too little yet to tell a zlib header from raw deflate
            return b""
        try:
            out = self._inflate.decompress(data, room)
        except zlib.error:
            if not self._raw_fallback:
                raise
            self._raw_fallback = False
            self._inflate = zlib.decompressobj(-zlib.MAX_WBITS)
            out = self._inflate.decompress(data, room)
        self._raw_fallback = False
        self._tail = self._inflate.unconsumed_tail
        return out


def _inflater(response: httpx.Response, url: str) -> _Inflater | None:
    """How the body of ``response`` is inflated (None: it is sent as it is)."""
    codings = [c.strip().lower() for c in response.headers.get("content-encoding", "").split(",")]
    codings = [c for c in codings if c and c != "identity"]
    if not codings:
        return None
    if len(codings) == 1 and codings[0] in {"gzip", "x-gzip", "deflate"}:
        return _Inflater("deflate" if codings[0] == "deflate" else "gzip")
    raise FeedError(
        f"the web feed at {url} is sent compressed as {cut(', '.join(codings), 60)}, "
        "which lndesk does not read",
        f"lndesk asks for {ACCEPT_ENCODING} or no compression; ask the site's owner to "
        "send one of these.",
    )


def _keep(chunks: list[bytes], piece: bytes, size: int, url: str, cap: int) -> int:
    """Add ``piece`` to the body read so far (``size`` bytes); its new size."""
    size += len(piece)
    if size > cap:
        raise _too_large(url, cap)
    chunks.append(piece)
    return size


async def _read_capped(response: httpx.Response, url: str, cap: int) -> tuple[bytes, int]:
    declared = response.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > cap:
        raise _too_large(url, cap, int(declared))
    inflater = _inflater(response, url)
    chunks: list[bytes] = []
    size = 0
    try:
        async for raw in response.aiter_raw():
            if inflater is None:
                size = _keep(chunks, raw, size, url, cap)
                continue
            inflater.feed(raw)
            while piece := inflater.take(cap - size + 1):
                size = _keep(chunks, piece, size, url, cap)
    except zlib.error as exc:
        raise FeedError(
            f"the web feed at {url} could not be decompressed: {cut(str(exc), 200)}",
            "The site sent a damaged download; lndesk tries again at its next refresh.",
        ) from exc
    return b"".join(chunks), response.num_bytes_downloaded


async def fetch(
    client: httpx.AsyncClient,
    url: str,
    validators: Validators | None = None,
    *,
    now_s: float,
    cap: int = MAX_DOCUMENT_BYTES,
    allow_move: bool = False,
) -> Fetched:
    """GET ``url`` conditionally. ``now_s`` (wall time) reads Retry-After dates;
    ``allow_move`` follows a permanent redirect to another site (after you said so)."""
    try:
        with trio.fail_after(REQUEST_DEADLINE_S):
            return await _fetch(
                client, url, validators or Validators(), now_s=now_s, cap=cap, allow_move=allow_move
            )
    except trio.TooSlowError as exc:
        raise FeedError(
            f"the web feed at {url} took longer than {REQUEST_DEADLINE_S:.0f} s to download",
            "The site may be slow or overloaded; lndesk tries again at its next refresh.",
        ) from exc
    except httpx.HTTPError as exc:
        raise FeedError(
            f"the web feed at {url} could not be fetched: "
            f"{cut(str(exc) or type(exc).__name__, 200)}",
            "Check the address and your connection; lndesk tries again at its next refresh.",
        ) from exc


async def _fetch(
    client: httpx.AsyncClient,
    url: str,
    validators: Validators,
    *,
    now_s: float,
    cap: int,
    allow_move: bool,
) -> Fetched:
    current = url
    permanent = True
    moved_to: str | None = None
    for _ in range(MAX_REDIRECTS + 1):
        headers = {}
        if validators.etag:
            headers["If-None-Match"] = validators.etag
        if validators.last_modified:
            headers["If-Modified-Since"] = validators.last_modified
        async with client.stream("GET", current, headers=headers) as response:
            status = response.status_code
            if status in PERMANENT | TEMPORARY:
                target = web_url(urljoin(current, response.headers.get("location", "")))
                if not target:
                    raise FeedRefusedError(
                        f"the web feed at {url} redirects to an address lndesk does not fetch",
                        "Check the address in a browser.",
                        status,
                        None,
                    )
                permanent = permanent and status in PERMANENT
                if permanent and _host(target) != _host(current) and not allow_move:
                    raise FeedMovedError(url, target)
                log.info("feed %s redirected (%d) to %s", current, status, target)
                current = target
                if permanent:
                    moved_to = target
                continue
            if status == 304:
                return Fetched(
                    304,
                    current,
                    moved_to,
                    b"",
                    "",
                    validators,
                    max_age(response.headers.get("cache-control")),
                    response.num_bytes_downloaded,
                )
            if status != 200:
                after = retry_after(response.headers.get("retry-after"), now_s)
                raise FeedRefusedError(
                    f"the web feed at {url} answered HTTP {status} "
                    f"{cut(response.reason_phrase, 60)}",
                    "It asked lndesk to come back later; it will."
                    if status in {429, 503}
                    else "Check the address in a browser; lndesk tries again at its next refresh.",
                    status,
                    after,
                )
            body, size = await _read_capped(response, url, cap)
            return Fetched(
                200,
                current,
                moved_to,
                body,
                response.headers.get("content-type", ""),
                Validators(response.headers.get("etag"), response.headers.get("last-modified")),
                max_age(response.headers.get("cache-control")),
                size,
            )
    raise FeedRefusedError(
        f"the web feed at {url} redirects more than {MAX_REDIRECTS} times",
        "Check the address in a browser; it may redirect in a loop.",
        0,
        None,
    )
