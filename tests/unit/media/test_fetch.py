"""Unit tests for subject2video.media.fetch against real HTTP servers on loopback addresses.

Every test runs with DNS replaced by a table (names not in it do not resolve) and with a guard that
fails the test on any connection to a non-loopback address, so nothing leaves the machine.
"""

from __future__ import annotations

import ipaddress
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

import httpx
import pytest

from subject2video.config import Settings
from subject2video.errors import FetchError
from subject2video.media.fetch import FetchPolicy, check_url, fetch, post

PARAM = "inputImageFirstUrl"


# -- servers ----------------------------------------------------------------------------------


@dataclass
class Seen:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


class Handler(BaseHTTPRequestHandler):
    """Routes: /image, /redirect?to=URL[&code=N], /bytes?n=N[&length=0], /slow?seconds=S,
    /drip?chunks=N&pause=S, /status?code=N, /loop, /noloc; POST /hook answers 204."""

    server: Server

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        self._record(b"")
        url = urlsplit(self.path)
        query = {key: values[0] for key, values in parse_qs(url.query).items()}
        route = getattr(self, "route_" + url.path.strip("/"), None)
        if route is None:
            self._answer(404, b"not found")
        else:
            route(query)

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        self._record(body)
        if self.path.startswith("/redirect"):
            self._answer(302, b"", location=self.server.url("/hook"))
        else:
            self._answer(204, None)

    def route_image(self, query: dict[str, str]) -> None:
        self._answer(200, f"image from {self.server.name}".encode())

    def route_redirect(self, query: dict[str, str]) -> None:
        self._answer(int(query.get("code", "302")), b"", location=query["to"])

    def route_loop(self, query: dict[str, str]) -> None:
        self._answer(302, b"", location="/loop")

    def route_noloc(self, query: dict[str, str]) -> None:
        self._answer(302, b"")

    def route_status(self, query: dict[str, str]) -> None:
        self._answer(int(query["code"]), b"nope")

    def route_bytes(self, query: dict[str, str]) -> None:
        body = b"x" * int(query["n"])
        if query.get("length", "1") == "1":
            self._answer(200, body)
        else:  # HTTP/1.0 and no Content-Length: the body ends when the connection closes
            self.send_response(200)
            self.end_headers()
            self.wfile.write(body)

    def route_slow(self, query: dict[str, str]) -> None:
        self.server.stop.wait(float(query["seconds"]))
        self._answer(200, b"late")

    def route_drip(self, query: dict[str, str]) -> None:
        self.send_response(200)
        self.end_headers()
        for _ in range(int(query["chunks"])):
            self.wfile.write(b"x")
            self.wfile.flush()
            if self.server.stop.wait(float(query["pause"])):
                return

    def _record(self, body: bytes) -> None:
        self.server.seen.append(Seen(self.command, self.path, dict(self.headers.items()), body))

    def _answer(self, code: int, body: bytes | None, location: str | None = None) -> None:
        self.send_response(code)
        if location is not None:
            self.send_header("Location", location)
        if body is not None:
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if body:
            self.wfile.write(body)


class Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False  # a sleeping handler must not hold up the test's teardown

    def __init__(self, host: str, port: int, name: str) -> None:
        self.address_family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.name = name
        self.seen: list[Seen] = []
        self.stop = threading.Event()
        super().__init__((host, port), Handler)
        self.host = host
        self.port = self.server_address[1]

    def url(self, path: str, host: str | None = None) -> str:
        host = host or self.host
        netloc = f"[{host}]" if ":" in host else host
        return f"http://{netloc}:{self.port}{path}"

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # clients that hang up early (size limit, timeout) are expected here


@pytest.fixture
def serve() -> Iterator[Callable[..., Server]]:
    """Start HTTP servers on given loopback addresses; all are stopped after the test."""
    servers: list[Server] = []

    def start(host: str, name: str, port: int = 0) -> Server:
        server = Server(host, port, name)
        servers.append(server)
        threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
        return server

    yield start
    for server in servers:
        server.stop.set()
        server.shutdown()
        server.server_close()


# -- no traffic beyond loopback ---------------------------------------------------------------


@dataclass
class FakeDNS:
    """Answers for host names, in order; the last answer repeats. Other names do not resolve."""

    answers: dict[str, list[list[str]]] = field(default_factory=dict)
    calls: list[str] = field(default_factory=list)


@pytest.fixture(autouse=True)
def dns(monkeypatch: pytest.MonkeyPatch) -> FakeDNS:
    fake = FakeDNS()
    real = socket.getaddrinfo

    def getaddrinfo(host: Any, port: Any, *args: Any, **kwargs: Any) -> list[Any]:
        name = host.decode() if isinstance(host, bytes) else str(host)
        if name in fake.answers:
            fake.calls.append(name)
            queue = fake.answers[name]
            addresses = queue.pop(0) if len(queue) > 1 else queue[0]
            return [
                (socket.AF_INET6, socket.SOCK_STREAM, 6, "", (a, port, 0, 0))
                if ":" in a
                else (socket.AF_INET, socket.SOCK_STREAM, 6, "", (a, port))
                for a in addresses
            ]
        try:  # numeric spellings only: never a real DNS query
            return real(host, port, type=socket.SOCK_STREAM, flags=socket.AI_NUMERICHOST)
        except socket.gaierror:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known") from None

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return fake


@pytest.fixture(autouse=True)
def loopback_only(monkeypatch: pytest.MonkeyPatch) -> None:
    real_connect = socket.socket.connect

    def connect(self: socket.socket, address: Any) -> None:
        if not ipaddress.ip_address(address[0]).is_loopback:
            raise AssertionError(f"connection to a non-loopback address: {address}")
        real_connect(self, address)

    monkeypatch.setattr(socket.socket, "connect", connect)


def refused(call: Callable[[], object], parameter: str = PARAM) -> str:
    with pytest.raises(FetchError) as info:
        call()
    assert info.value.parameter == parameter
    assert info.value.message.startswith(f"Request parameter [{parameter}]")
    return info.value.message


# -- check_url --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("http://127.0.0.1/", "127.0.0.1"),
        ("http://10.0.0.1/", "10.0.0.1"),
        ("http://192.168.1.10/", "192.168.1.10"),
        ("http://172.16.0.1/", "172.16.0.1"),
        ("http://169.254.169.254/latest/meta-data/", "169.254.169.254"),
        ("http://100.64.0.1/", "100.64.0.1"),
        ("http://0.0.0.0/", "0.0.0.0"),
        ("http://0/", "0.0.0.0"),
        ("http://224.0.0.1/", "224.0.0.1"),
        ("http://240.0.0.1/", "240.0.0.1"),
        ("http://255.255.255.255/", "255.255.255.255"),
        ("http://[::1]/", "::1"),
        ("http://[::]/", "::"),
        ("http://[fe80::1]/", "fe80::1"),
        ("http://[fc00::1]/", "fc00::1"),
        ("http://[fd12:3456::1]/", "fd12:3456::1"),
        ("http://[ff02::1]/", "ff02::1"),
        ("http://[::ffff:127.0.0.1]/", "127.0.0.1"),
        ("http://[::ffff:169.254.169.254]/", "169.254.169.254"),
        ("http://[2002:7f00:1::]/", "2002:7f00:1::"),  # 6to4 around 127.0.0.1
        ("http://2130706433/", "127.0.0.1"),
        ("http://0x7f.1/", "127.0.0.1"),
        ("http://user@127.0.0.1/", "127.0.0.1"),
        ("http://public.example.com@127.0.0.1:8080/", "127.0.0.1"),
        ("https://127.0.0.1:443/", "127.0.0.1"),
    ],
)
def test_check_url_refuses_non_public_addresses(url: str, shown: str) -> None:
    message = refused(lambda: check_url(url, FetchPolicy(), parameter=PARAM))
    assert message == (
        f"Request parameter [{PARAM}] points to a non-public address ({shown}); "
        "only public http(s) URLs are fetched"
    )


@pytest.mark.parametrize(
    "url",
    [
        "http://0177.0.0.1/",
        "ftp://example.com/x.jpg",
        "file:///etc/passwd",
        "gopher://127.0.0.1:70/",
        "javascript:alert(1)",
        "data:image/png;base64,AAAA",
        "http:///x.jpg",
        "not a url",
        "",
    ],
)
def test_check_url_refuses_other_schemes_and_malformed_urls(url: str) -> None:
    refused(lambda: check_url(url, FetchPolicy(), parameter=PARAM))


def test_check_url_judges_every_resolved_address(dns: FakeDNS) -> None:
    dns.answers["mixed.test"] = [["93.184.216.34", "127.0.0.1"]]
    message = refused(lambda: check_url("http://mixed.test/", FetchPolicy(), parameter=PARAM))
    assert "(127.0.0.1)" in message


def test_check_url_returns_public_addresses(dns: FakeDNS) -> None:
    dns.answers["images.test"] = [["93.184.216.34", "2606:2800:220:1::1"]]
    addresses = check_url("https://images.test/a.jpg", FetchPolicy(), parameter=PARAM)
    assert addresses == [
        ipaddress.ip_address("93.184.216.34"),
        ipaddress.ip_address("2606:2800:220:1::1"),
    ]
    assert check_url("http://[::ffff:8.8.8.8]/", FetchPolicy(), parameter=PARAM) == [
        ipaddress.ip_address("8.8.8.8")
    ]


def test_check_url_unresolvable_host() -> None:
    message = refused(lambda: check_url("http://nowhere.test/", FetchPolicy(), parameter=PARAM))
    assert "could not be resolved (nowhere.test)" in message


def test_allow_list_entries(dns: FakeDNS) -> None:
    dns.answers["fixtures.test"] = [["127.0.0.2"]]
    by_name = FetchPolicy(allow=("FIXTURES.test",))
    assert check_url("http://fixtures.test/", by_name, parameter=PARAM) == [
        ipaddress.ip_address("127.0.0.2")
    ]
    refused(lambda: check_url("http://127.0.0.2/", by_name, parameter=PARAM))
    by_network = FetchPolicy(allow=("127.0.0.0/30", "[::1]"))
    assert check_url("http://127.0.0.3/", by_network, parameter=PARAM)
    assert check_url("http://[::1]/", by_network, parameter=PARAM)
    assert check_url("http://[::ffff:127.0.0.2]/", by_network, parameter=PARAM) == [
        ipaddress.ip_address("127.0.0.2")
    ]
    refused(lambda: check_url("http://127.0.0.4/", by_network, parameter=PARAM))
    refused(
        lambda: check_url(
            "http://fixtures.test/", FetchPolicy(allow=("other.test",)), parameter=PARAM
        )
    )


def test_policy_from_settings() -> None:
    settings = Settings(
        fetch_allow_hosts=" fixtures.test, 10.0.0.0/8 ,",
        fetch_max_bytes=1234,
        fetch_timeout_seconds=3.5,
        fetch_max_redirects=2,
    )
    assert FetchPolicy.from_settings(settings) == FetchPolicy(
        allow=("fixtures.test", "10.0.0.0/8"), max_bytes=1234, timeout=3.5, max_redirects=2
    )


# -- fetch ------------------------------------------------------------------------------------


def test_fetch_from_allowed_address(serve: Callable[..., Server]) -> None:
    server = serve("127.0.0.2", "allowed")
    body = fetch(server.url("/image"), FetchPolicy(allow=("127.0.0.2",)), parameter=PARAM)
    assert body == b"image from allowed"
    assert server.seen[0].headers["Host"] == f"127.0.0.2:{server.port}"


def test_fetch_from_allowed_ipv6_address(serve: Callable[..., Server]) -> None:
    server = serve("::1", "v6")
    assert fetch(server.url("/image"), FetchPolicy(allow=("::1",)), parameter=PARAM) == (
        b"image from v6"
    )
    assert server.seen[0].headers["Host"] == f"[::1]:{server.port}"


def test_fetch_sends_the_host_name_to_the_pinned_address(
    serve: Callable[..., Server], dns: FakeDNS
) -> None:
    server = serve("127.0.0.2", "named")
    dns.answers["fixtures.test"] = [["127.0.0.2"]]
    url = f"http://fixtures.test:{server.port}/image"
    assert fetch(url, FetchPolicy(allow=("fixtures.test",)), parameter=PARAM) == b"image from named"
    assert server.seen[0].headers["Host"] == f"fixtures.test:{server.port}"


def test_fetch_refuses_loopback_that_is_not_allowed(serve: Callable[..., Server]) -> None:
    server = serve("127.0.0.1", "forbidden")
    policy = FetchPolicy(allow=("127.0.0.2",))
    message = refused(lambda: fetch(server.url("/image"), policy, parameter=PARAM))
    assert "non-public address (127.0.0.1)" in message
    assert server.seen == []


def test_redirect_to_forbidden_address_is_refused(serve: Callable[..., Server]) -> None:
    allowed = serve("127.0.0.2", "allowed")
    forbidden = serve("127.0.0.1", "forbidden")
    start = allowed.url("/redirect?to=" + quote(forbidden.url("/image"), safe=""))
    message = refused(lambda: fetch(start, FetchPolicy(allow=("127.0.0.2",)), parameter=PARAM))
    assert message == (
        f"Request parameter [{PARAM}] (after a redirect) points to a non-public address "
        "(127.0.0.1); only public http(s) URLs are fetched"
    )
    assert len(allowed.seen) == 1
    assert forbidden.seen == []


@pytest.mark.parametrize(
    "location", ["file:///etc/passwd", "http://169.254.169.254/latest/meta-data/"]
)
def test_redirect_to_other_schemes_or_metadata_is_refused(
    serve: Callable[..., Server], location: str
) -> None:
    allowed = serve("127.0.0.2", "allowed")
    start = allowed.url("/redirect?to=" + quote(location, safe=""))
    message = refused(lambda: fetch(start, FetchPolicy(allow=("127.0.0.2",)), parameter=PARAM))
    assert "(after a redirect)" in message


@pytest.mark.parametrize("code", [301, 302, 303, 307, 308])
def test_redirects_between_allowed_servers_are_followed(
    serve: Callable[..., Server], code: int
) -> None:
    first = serve("127.0.0.2", "first")
    second = serve("127.0.0.3", "second")
    start = first.url(f"/redirect?code={code}&to=" + quote(second.url("/image"), safe=""))
    policy = FetchPolicy(allow=("127.0.0.2", "127.0.0.3"))
    assert fetch(start, policy, parameter=PARAM) == b"image from second"
    assert second.seen[0].headers["Host"] == f"127.0.0.3:{second.port}"


def test_relative_redirect_is_resolved_against_the_current_url(
    serve: Callable[..., Server],
) -> None:
    server = serve("127.0.0.2", "allowed")
    start = server.url("/redirect?to=" + quote("/image", safe=""))
    assert fetch(start, FetchPolicy(allow=("127.0.0.2",)), parameter=PARAM) == (
        b"image from allowed"
    )


def test_too_many_redirects(serve: Callable[..., Server]) -> None:
    server = serve("127.0.0.2", "loop")
    policy = FetchPolicy(allow=("127.0.0.2",), max_redirects=3)
    message = refused(lambda: fetch(server.url("/loop"), policy, parameter=PARAM))
    assert "more than 3 redirects" in message
    assert len(server.seen) == 4


def test_redirect_without_location(serve: Callable[..., Server]) -> None:
    server = serve("127.0.0.2", "allowed")
    policy = FetchPolicy(allow=("127.0.0.2",))
    assert "answered HTTP 302" in refused(
        lambda: fetch(server.url("/noloc"), policy, parameter=PARAM)
    )


@pytest.mark.parametrize("code", [404, 500])
def test_error_status_is_a_fetch_error(serve: Callable[..., Server], code: int) -> None:
    server = serve("127.0.0.2", "allowed")
    policy = FetchPolicy(allow=("127.0.0.2",))
    message = refused(lambda: fetch(server.url(f"/status?code={code}"), policy, parameter=PARAM))
    assert (
        message
        == f"Request parameter [{PARAM}] could not be fetched: the server answered HTTP {code}"
    )


@pytest.mark.parametrize("length", ["1", "0"], ids=["content-length", "streamed"])
def test_size_limit(serve: Callable[..., Server], length: str) -> None:
    server = serve("127.0.0.2", "allowed")
    policy = FetchPolicy(allow=("127.0.0.2",), max_bytes=100_000)
    exact = fetch(server.url(f"/bytes?n=100000&length={length}"), policy, parameter=PARAM)
    assert len(exact) == 100_000
    url = server.url(f"/bytes?n=100001&length={length}")
    assert "is larger than 100000 bytes" in refused(lambda: fetch(url, policy, parameter=PARAM))


def test_timeout_while_waiting_for_an_answer(serve: Callable[..., Server]) -> None:
    server = serve("127.0.0.2", "slow")
    policy = FetchPolicy(allow=("127.0.0.2",), timeout=0.5)
    began = time.monotonic()
    message = refused(lambda: fetch(server.url("/slow?seconds=10"), policy, parameter=PARAM))
    assert time.monotonic() - began < 3
    assert "no complete answer within 0.5 seconds" in message


def test_timeout_is_total_not_per_read(serve: Callable[..., Server]) -> None:
    # Each byte comes well within the timeout, the whole body does not.
    server = serve("127.0.0.2", "drip")
    policy = FetchPolicy(allow=("127.0.0.2",), timeout=1.0)
    began = time.monotonic()
    url = server.url("/drip?chunks=50&pause=0.1")
    assert "no complete answer" in refused(lambda: fetch(url, policy, parameter=PARAM))
    assert time.monotonic() - began < 3


def test_connection_refused_is_a_fetch_error() -> None:
    with socket.socket() as probe:  # a port with nothing listening
        probe.bind(("127.0.0.2", 0))
        port = probe.getsockname()[1]
    policy = FetchPolicy(allow=("127.0.0.2",))
    message = refused(lambda: fetch(f"http://127.0.0.2:{port}/x", policy, parameter=PARAM))
    assert "could not be fetched: could not connect to 127.0.0.2" in message


def test_dns_rebinding_is_defeated_by_pinning(serve: Callable[..., Server], dns: FakeDNS) -> None:
    # The same port on the allowed and the forbidden address, so a re-resolved connection
    # would reach the forbidden server.
    for _ in range(20):
        good = serve("127.0.0.2", "good")
        try:
            evil = serve("127.0.0.1", "evil", port=good.port)
            break
        except OSError:
            continue
    else:
        pytest.skip("no port free on both 127.0.0.1 and 127.0.0.2")
    dns.answers["rebind.test"] = [["127.0.0.2"], ["127.0.0.1"]]
    policy = FetchPolicy(allow=("127.0.0.2",))
    url = f"http://rebind.test:{good.port}/image"
    assert fetch(url, policy, parameter=PARAM) == b"image from good"
    assert dns.calls == ["rebind.test"]
    assert evil.seen == []
    assert good.seen[0].headers["Host"] == f"rebind.test:{good.port}"
    # The name now points at the forbidden address, and is refused as such.
    assert "(127.0.0.1)" in refused(lambda: check_url(url, policy, parameter=PARAM))


def test_https_is_pinned_with_sni_and_host(monkeypatch: pytest.MonkeyPatch, dns: FakeDNS) -> None:
    dns.answers["images.test"] = [["93.184.216.34"]]
    sent: list[httpx.Request] = []

    def handle_request(self: httpx.HTTPTransport, request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return httpx.Response(200, content=b"pixels")

    monkeypatch.setattr(httpx.HTTPTransport, "handle_request", handle_request)
    url = "https://images.test/pic.jpg?size=large"
    assert fetch(url, FetchPolicy(), parameter=PARAM) == b"pixels"
    (request,) = sent
    assert str(request.url) == "https://93.184.216.34/pic.jpg?size=large"
    assert request.headers["Host"] == "images.test"
    assert request.extensions["sni_hostname"] == "images.test"


# -- post -------------------------------------------------------------------------------------


def test_post_delivers_body_and_headers(serve: Callable[..., Server]) -> None:
    server = serve("127.0.0.2", "hook")
    policy = FetchPolicy(allow=("127.0.0.2",))
    headers = {"Content-Type": "application/json", "X-Signature": "abc"}
    assert post(server.url("/hook"), b'{"ok":1}', headers, policy, timeout=5) == 204
    (seen,) = server.seen
    assert (seen.method, seen.body) == ("POST", b'{"ok":1}')
    assert seen.headers["X-Signature"] == "abc"
    assert seen.headers["Host"] == f"127.0.0.2:{server.port}"


def test_post_does_not_follow_redirects(serve: Callable[..., Server]) -> None:
    server = serve("127.0.0.2", "hook")
    policy = FetchPolicy(allow=("127.0.0.2",))
    assert post(server.url("/redirect"), b"{}", {}, policy, timeout=5) == 302
    assert [seen.path for seen in server.seen] == ["/redirect"]


def test_post_refuses_forbidden_addresses(serve: Callable[..., Server]) -> None:
    server = serve("127.0.0.1", "forbidden")
    policy = FetchPolicy(allow=("127.0.0.2",))
    call = lambda: post(server.url("/hook"), b"{}", {}, policy, timeout=5)  # noqa: E731
    assert "non-public address (127.0.0.1)" in refused(call, parameter="callbackUrl")
    refused(lambda: post("http://169.254.169.254/", b"", {}, policy, timeout=5), "callbackUrl")
    assert server.seen == []


def test_post_network_error_is_a_fetch_error() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.2", 0))
        port = probe.getsockname()[1]
    policy = FetchPolicy(allow=("127.0.0.2",))
    call = lambda: post(f"http://127.0.0.2:{port}/hook", b"{}", {}, policy, timeout=5)  # noqa: E731
    assert "could not connect" in refused(call, parameter="callbackUrl")
