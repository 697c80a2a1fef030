"""The one guarded fetcher for every URL a caller controls (input images, callbacks).

Before any connection a URL is checked: http(s) only, and every address its host resolves to must
be public (``ipaddress`` says ``is_global``, after unwrapping IPv4 embedded in IPv6) or match the
operator's allow-list. The connection then goes to the checked address itself (it is pinned), so a
DNS answer that changes between check and connect (rebinding) cannot move it elsewhere. Redirects
are followed by hand, each hop checked and pinned again.

Time is bounded as a whole, not per read: every socket operation (connect, TLS, each read and
write) waits at most what is left of the call's deadline, in short slices, so a peer that trickles
its headers or body a byte at a time is cut off at the deadline (a per-read timeout never trips on
a trickle). Between slices a `check` of the caller runs, so that a task's kill or timeout ends a
fetch at once.

Example::

    policy = FetchPolicy.from_settings(settings)
    check_url(url, policy, parameter="inputImageFirstUrl")  # cheap, before accepting a task
    data = fetch(url, policy, parameter="inputImageFirstUrl")
"""

from __future__ import annotations

import ipaddress
import logging
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING

import httpx

from subject2video.contract import CALLBACK
from subject2video.errors import FetchError
from subject2video.media.deadline import deadline_transport

if TYPE_CHECKING:
    from subject2video.config import Settings

logger = logging.getLogger(__name__)

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

_DEFAULT_PORTS = {"http": 80, "https": 443}
_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
_USER_AGENT = "subject2video"
_CALLBACK_PARAMETER = CALLBACK.name


@dataclass(frozen=True)
class FetchPolicy:
    """Limits of the guarded fetcher: allow-list, body size, total time and redirects."""

    #: Host names, IP addresses or CIDR networks that may be reached although not public.
    allow: tuple[str, ...] = ()
    max_bytes: int = 20 * 1024 * 1024
    #: Total seconds for the whole fetch, redirects included.
    timeout: float = 20.0
    max_redirects: int = 5

    @classmethod
    def from_settings(cls, settings: Settings) -> FetchPolicy:
        """Build the policy from the operator settings."""
        return cls(
            allow=tuple(settings.allow_hosts),
            max_bytes=settings.fetch_max_bytes,
            timeout=settings.fetch_timeout_seconds,
            max_redirects=settings.fetch_max_redirects,
        )


@dataclass(frozen=True)
class _Target:
    """A checked URL and the addresses it may be fetched from."""

    url: httpx.URL
    host: str  # ASCII (IDNA) host name or IP literal, as sent in SNI
    addresses: tuple[IPAddress, ...]


@dataclass(frozen=True)
class _Call:
    """One fetch or post in progress: names the parameter in errors and keeps the deadline."""

    parameter: str
    seconds: float
    deadline: float
    max_bytes: int
    #: Raises to end the call early (a task's kill or time limit); run between socket waits.
    check: Callable[[], None] | None = None

    @classmethod
    def start(
        cls,
        parameter: str,
        seconds: float,
        max_bytes: int,
        check: Callable[[], None] | None = None,
    ) -> _Call:
        return cls(parameter, seconds, time.monotonic() + seconds, max_bytes, check)

    def error(self, reason: str) -> FetchError:
        message = f"Request parameter [{self.parameter}] {reason}"
        logger.info("fetch refused or failed: %s", message)
        return FetchError(message, parameter=self.parameter)

    def remaining(self) -> float:
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise self.timed_out()
        return left

    def timed_out(self) -> FetchError:
        return self.error(
            f"could not be fetched: no complete answer within {self.seconds:g} seconds"
        )


@dataclass(frozen=True)
class _Answer:
    status: int
    location: str | None = None
    body: bytes = b""


# -- checking ---------------------------------------------------------------------------------


def check_url(url: str, policy: FetchPolicy, *, parameter: str) -> list[IPAddress]:
    """Check that `url` is http(s) and that every address of its host may be reached."""
    return list(_resolve(url, policy, parameter, redirected=False).addresses)


def _resolve(
    url: str | httpx.URL, policy: FetchPolicy, parameter: str, *, redirected: bool
) -> _Target:
    prefix = f"Request parameter [{parameter}]" + (" (after a redirect)" if redirected else "")

    def refuse(reason: str) -> FetchError:
        logger.info("fetch refused: %s %s", prefix, reason)
        return FetchError(f"{prefix} {reason}", parameter=parameter)

    try:
        parsed = httpx.URL(url)
        host = parsed.raw_host.decode("ascii")
        # Decoding the IDNA form can fail too ("http://xn--/" is a malformed A-label).
        unicode_host = parsed.host
        port = parsed.port
    except (httpx.InvalidURL, UnicodeError, ValueError, TypeError) as exc:
        raise refuse("is not a valid URL") from exc
    if parsed.scheme not in _DEFAULT_PORTS:
        raise refuse("must be an http or https URL")
    if not host:
        raise refuse("has no host name")
    if port is not None and not 0 < port < 65536:
        raise refuse(f"has port {port}; a port is 1 to 65535")
    names, networks = _parse_allow(policy.allow)
    named = _normal_host(host) in names or _normal_host(unicode_host) in names
    addresses: list[IPAddress] = []
    for address in _lookup(host, port or _DEFAULT_PORTS[parsed.scheme], refuse):
        # Judge and connect to the IPv4 address itself, not its IPv4-mapped IPv6 form.
        pinned = _unmapped(address)
        if not (named or _allowed(address, networks)):
            raise refuse(
                f"points to a non-public address ({pinned}); only public http(s) URLs are fetched"
            )
        if pinned not in addresses:
            addresses.append(pinned)
    return _Target(url=parsed, host=host, addresses=tuple(addresses))


def _lookup(host: str, port: int, refuse: Callable[[str], FetchError]) -> list[IPAddress]:
    try:
        return [ipaddress.ip_address(host)]  # a literal: no lookup, no surprises
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as exc:
        raise refuse(f"names a host that could not be resolved ({host})") from exc
    found: list[IPAddress] = []
    for family, _type, _proto, _name, sockaddr in infos:
        if family not in (socket.AF_INET, socket.AF_INET6):
            continue
        try:
            address = ipaddress.ip_address(sockaddr[0])
        except ValueError as exc:
            raise refuse(f"resolves to an unusable address ({sockaddr[0]})") from exc
        if address not in found:
            found.append(address)
    if not found:
        raise refuse(f"names a host that could not be resolved ({host})")
    return found


@lru_cache(maxsize=32)
def _parse_allow(allow: tuple[str, ...]) -> tuple[frozenset[str], tuple[IPNetwork, ...]]:
    names: set[str] = set()
    networks: list[IPNetwork] = []
    for entry in allow:
        text = entry.strip().replace("[", "").replace("]", "")
        if not text:
            continue
        try:
            networks.append(ipaddress.ip_network(text, strict=False))
        except ValueError:
            names.add(_normal_host(text))
    return frozenset(names), tuple(networks)


def _normal_host(host: str) -> str:
    return host.lower().rstrip(".")


def _unmapped(address: IPAddress) -> IPAddress:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def _allowed(address: IPAddress, networks: tuple[IPNetwork, ...]) -> bool:
    plain = _unmapped(address)
    if any(candidate in net for net in networks for candidate in (address, plain)):
        return True
    return _is_public(plain)


def _is_public(address: IPAddress) -> bool:
    """True for a globally routable unicast address (IPv4 inside 6to4/Teredo/NAT64 checked too)."""
    if isinstance(address, ipaddress.IPv6Address):
        inner = _embedded_ipv4(address)
        if inner is not None and not _is_public(inner):
            return False
    return address.is_global and not (
        address.is_multicast
        or address.is_private
        or address.is_reserved
        or address.is_loopback
        or address.is_link_local
        or address.is_unspecified
    )


def _embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address.teredo is not None:
        return address.teredo[1]
    if address in _NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


# -- fetching ---------------------------------------------------------------------------------


def fetch(
    url: str, policy: FetchPolicy, *, parameter: str, check: Callable[[], None] | None = None
) -> bytes:
    """GET `url` under the policy: checked, pinned, redirects re-checked, size and total time
    bounded. `check` runs at least every 0.25 s while it waits, and may raise to stop."""
    call = _Call.start(parameter, policy.timeout, policy.max_bytes, check)
    current: str | httpx.URL = url
    headers = {"Accept": "*/*", "Accept-Encoding": "identity", "User-Agent": _USER_AGENT}
    for hop in range(policy.max_redirects + 1):
        target = _resolve(current, policy, parameter, redirected=hop > 0)
        answer = _exchange(target, call, method="GET", headers=headers, body=None)
        if answer.location is None:
            logger.debug(
                "fetched %d bytes from %s for %s", len(answer.body), target.host, parameter
            )
            return answer.body
        try:
            current = target.url.join(answer.location)
        except httpx.InvalidURL as exc:
            raise call.error(
                "could not be fetched: the server redirected to an invalid URL"
            ) from exc
    raise call.error(f"could not be fetched: more than {policy.max_redirects} redirects")


def post(
    url: str, body: bytes, headers: dict[str, str], policy: FetchPolicy, *, timeout: float
) -> int:
    """POST `body` to a webhook URL under the fetch rules (no redirects); return the HTTP status."""
    return post_reading(url, body, headers, policy, timeout=timeout, max_bytes=0)[0]


def post_reading(
    url: str,
    body: bytes,
    headers: dict[str, str],
    policy: FetchPolicy,
    *,
    timeout: float,
    max_bytes: int = 64 * 1024,
) -> tuple[int, bytes]:
    """POST like `post`, and also read up to `max_bytes` of the answer (0: none of it)."""
    call = _Call.start(_CALLBACK_PARAMETER, timeout, max_bytes)
    target = _resolve(url, policy, _CALLBACK_PARAMETER, redirected=False)
    answer = _exchange(target, call, method="POST", headers=headers, body=body)
    return answer.status, answer.body


def _exchange(
    target: _Target, call: _Call, *, method: str, headers: dict[str, str], body: bytes | None
) -> _Answer:
    """Send one request to the first checked address that accepts a connection."""
    reason = "no address"
    for address in target.addresses:
        try:
            return _exchange_once(target, address, call, method=method, headers=headers, body=body)
        except httpx.ConnectError as exc:
            # Another checked address of the same host may still answer.
            reason = str(exc) or type(exc).__name__
            logger.debug("could not connect to %s (%s): %s", target.host, address, reason)
        except httpx.TimeoutException as exc:
            raise call.timed_out() from exc
        except httpx.RequestError as exc:
            raise call.error(f"could not be fetched: {str(exc) or type(exc).__name__}") from exc
    raise call.error(f"could not be fetched: could not connect to {target.host} ({reason})")


def _exchange_once(
    target: _Target,
    address: IPAddress,
    call: _Call,
    *,
    method: str,
    headers: dict[str, str],
    body: bytes | None,
) -> _Answer:
    timeout = call.remaining()
    request_headers = httpx.Headers(headers)
    # The URL names the pinned address; the server still sees the real host name.
    request_headers["Host"] = target.url.netloc.decode("ascii")
    extensions = {"sni_hostname": target.host} if target.url.scheme == "https" else {}
    # trust_env=False: a proxy from the environment would resolve the name itself again.
    with (
        httpx.Client(
            transport=deadline_transport(call),
            trust_env=False,
            follow_redirects=False,
            timeout=timeout,
        ) as client,
        client.stream(
            method,
            target.url.copy_with(host=str(address)),
            headers=request_headers,
            content=body,
            extensions=extensions,
        ) as response,
    ):
        status = response.status_code
        if method != "GET":
            return _Answer(status, body=_read_limited(response, call) if call.max_bytes else b"")
        if status in _REDIRECTS:
            location = response.headers.get("location")
            if not location:
                raise call.error(f"could not be fetched: the server answered HTTP {status}")
            return _Answer(status, location=location)
        if not 200 <= status < 300:
            raise call.error(f"could not be fetched: the server answered HTTP {status}")
        return _Answer(status, body=_read_limited(response, call))


def _read_limited(response: httpx.Response, call: _Call) -> bytes:
    too_large = f"is larger than {_size(call.max_bytes)}"
    declared = response.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > call.max_bytes:
        raise call.error(too_large)
    chunks: list[bytes] = []
    size = 0
    for chunk in response.iter_bytes():
        size += len(chunk)
        if size > call.max_bytes:
            raise call.error(too_large)
        call.remaining()
        chunks.append(chunk)
    return b"".join(chunks)


def _size(n: int) -> str:
    mib = 1024 * 1024
    if n >= mib and n % mib == 0:
        return f"{n // mib} MB"
    return f"{n} bytes"
