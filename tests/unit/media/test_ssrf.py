"""SSRF: the guarded fetcher and the callback poster against a counted corpus of hostile URLs.

DNS is a stub in this process (socket.getaddrinfo patched: names from a map, numeric spellings
through the real resolver with AI_NUMERICHOST, nothing else), and the network exchange is
recorded instead of made, so a URL "gets through" exactly when an exchange is attempted with a
non-public address. This is the unit level; the server runs the same code (media/fetch.py).
"""

from __future__ import annotations

import ipaddress
import socket
from typing import Any

import pytest

from subject2video.errors import FetchError
from subject2video.media import fetch as fetch_module
from subject2video.media.fetch import FetchPolicy, _Answer, check_url, fetch, post_reading
from tests.utils.figures import record

PUBLIC = "93.184.216.34"
POLICY = FetchPolicy(timeout=5.0)

#: Host names of the stub: each a list of answers, used in turn (the last one repeats).
NAMES: dict[str, list[list[str]]] = {
    "public.example": [[PUBLIC]],
    "rebind.example": [[PUBLIC], ["127.0.0.1"]],
    "rebind6.example": [[PUBLIC], ["::1"]],
    "mixed.example": [[PUBLIC, "10.0.0.5"]],
    "metadata.example": [["169.254.169.254"]],
    "ula.example": [["fd12:3456::1"]],
    "mapped.example": [["::ffff:127.0.0.1"]],
    "localhost": [["127.0.0.1", "::1"]],
    "localhost.": [["127.0.0.1"]],
}

FORBIDDEN = [
    "http://127.0.0.1/",
    "http://127.1/",
    "http://0/",
    "http://0.0.0.0/",
    "http://2130706433/",  # decimal
    "http://0x7f000001/",  # hex
    "http://017700000001/",  # octal
    "http://0177.0.0.1/",  # octal dotted
    "http://0x7f.1/",
    "http://[::1]/",
    "http://[::]/",
    "http://[::ffff:127.0.0.1]/",
    "http://[::ffff:7f00:1]/",
    "http://[0:0:0:0:0:ffff:127.0.0.1]/",
    "http://[::ffff:169.254.169.254]/",
    "http://[fd00::1]/",
    "http://[fc00::1]/",
    "http://[fe80::1]/",
    "http://[fe80::1%25eth0]/",
    "http://[64:ff9b::7f00:1]/",  # NAT64 of loopback
    "http://[2002:7f00:1::]/",  # 6to4 of loopback
    "http://[2001:0:4136:e378:8000:63bf:80ff:fffe]/",  # Teredo of 127.0.0.1
    "http://[ff02::1]/",
    "http://169.254.169.254/latest/meta-data/",
    "http://10.0.0.1/",
    "http://172.16.0.1/",
    "http://192.168.1.1/",
    "http://100.64.0.1/",
    "http://198.18.0.1/",
    "http://224.0.0.1/",
    "http://255.255.255.255/",
    "http://240.0.0.1/",
    "http://localhost/",
    "http://localhost./",
    "http://LOCALHOST/",
    "http://metadata.example/",
    "http://ula.example/",
    "http://mapped.example/",
    "http://mixed.example/",
    "http://public.example@127.0.0.1/",  # userinfo trick: the host is 127.0.0.1
    "http://public.example:80@127.0.0.1:8080/",
    "http://127.0.0.1#@public.example/",
    "http://127.0.0.1?@public.example/",
    "http://127.0.0.1\\@public.example/",
    "file:///etc/passwd",
    "gopher://public.example/_GET",
    "ftp://public.example/x",
    "dict://public.example:11211/",
    "ws://public.example/",
    "data:image/png;base64,AAAA",
    "javascript:alert(1)",
    "jar:http://public.example!/x",
    "http:///path",
    "http://",
    "//public.example/x",
    "public.example/x",
    "http://unknown.invalid/",
    "http://[::1",
    "http://a b/",
]
#: Hops that a public server redirects to: every one must be refused before it is fetched.
REDIRECTS = [
    "http://127.0.0.1/",
    "http://[::1]/",
    "http://169.254.169.254/latest/meta-data/",
    "http://2130706433/",
    "http://[::ffff:10.0.0.1]/",
    "http://public.example@192.168.0.1/",
    "http://localhost/",
    "http://metadata.example/",
    "file:///etc/passwd",
    "gopher://127.0.0.1:6379/_INFO",
    "//127.0.0.1/relative-scheme",
]


class Network:
    """Records every exchange the fetcher attempts; answers from `script` (else 200 'ok')."""

    def __init__(self) -> None:
        self.exchanges: list[str] = []
        self.script: list[_Answer] = []

    def exchange(self, target: Any, address: Any, call: Any, **kwargs: Any) -> _Answer:
        self.exchanges.append(str(address))
        return self.script.pop(0) if self.script else _Answer(200, body=b"ok")

    def reached_private(self) -> bool:
        return any(not ipaddress.ip_address(a).is_global for a in self.exchanges)


@pytest.fixture
def network(monkeypatch: pytest.MonkeyPatch) -> Network:
    answers = {name: [list(a) for a in queue] for name, queue in NAMES.items()}
    real = socket.getaddrinfo

    def getaddrinfo(host: Any, port: Any, *args: Any, **kwargs: Any) -> list[Any]:
        name = host.decode() if isinstance(host, bytes) else str(host)
        if name.lower() in answers:
            queue = answers[name.lower()]
            found = queue.pop(0) if len(queue) > 1 else queue[0]
            return [
                (socket.AF_INET6, socket.SOCK_STREAM, 6, "", (a, port, 0, 0))
                if ":" in a
                else (socket.AF_INET, socket.SOCK_STREAM, 6, "", (a, port))
                for a in found
            ]
        try:  # numeric spellings only (decimal, octal, hex): never a real DNS query
            return real(host, port, type=socket.SOCK_STREAM, flags=socket.AI_NUMERICHOST)
        except socket.gaierror:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known") from None

    recorder = Network()
    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    monkeypatch.setattr(fetch_module, "_exchange_once", recorder.exchange)
    return recorder


def _refused(call: Any) -> bool:
    try:
        call()
    except FetchError as exc:
        assert exc.message.startswith("Request parameter ["), exc.message
        return True
    return False


def test_forbidden_urls_never_reach_private_space(network: Network) -> None:
    """Each URL through check_url (Run's check), fetch (the worker) and post (callbacks)."""
    tried = got_through = 0
    leaks: list[str] = []
    for url in FORBIDDEN:
        for how, call in (
            ("check", lambda u=url: check_url(u, POLICY, parameter="inputImageFirstUrl")),
            ("fetch", lambda u=url: fetch(u, POLICY, parameter="inputImageFirstUrl")),
            ("callback", lambda u=url: post_reading(u, b"{}", {}, POLICY, timeout=5.0)),
        ):
            tried += 1
            before = len(network.exchanges)
            _refused(call)
            # Through = a connection to a non-public address. (One URL, `127.0.0.1\@public...`,
            # is fetched from public.example: RFC 3986 reads the backslash as userinfo.)
            if any(not ipaddress.ip_address(a).is_global for a in network.exchanges[before:]):
                got_through += 1
                leaks.append(f"{how} {url}")
    record(
        "SSRF: forbidden URLs (check, fetch, callback)",
        tried=tried,
        handled=tried - got_through,
        got_through=got_through,
    )
    assert not leaks
    refused = [u for u in FORBIDDEN if u != "http://127.0.0.1\\@public.example/"]
    assert all(_refused(lambda u=u: check_url(u, POLICY, parameter="p")) for u in refused)


def test_redirects_into_private_space_are_refused(network: Network) -> None:
    got_through = 0
    for location in REDIRECTS:
        chain = [_Answer(302, location="http://public.example/hop2")]
        network.script = [*chain, _Answer(301, location=location)]
        network.exchanges.clear()
        refused = _refused(lambda: fetch("http://public.example/a", POLICY, parameter="p"))
        if not refused or network.reached_private():
            got_through += 1
        assert network.exchanges == [PUBLIC, PUBLIC], (location, network.exchanges)
    record(
        "SSRF: redirect chains into private space",
        tried=len(REDIRECTS),
        handled=len(REDIRECTS) - got_through,
        got_through=got_through,
    )
    assert got_through == 0


def test_callbacks_never_follow_redirects(network: Network) -> None:
    network.script = [_Answer(307, location="http://127.0.0.1/")]
    status, _ = post_reading("http://public.example/hook", b"{}", {}, POLICY, timeout=5.0)
    assert status == 307
    assert network.exchanges == [PUBLIC]


@pytest.mark.parametrize("name", ["rebind.example", "rebind6.example"])
def test_dns_rebinding_cannot_move_the_connection(network: Network, name: str) -> None:
    """The first answer is public, every later one private: the fetch uses the checked one."""
    tried = 0
    for how in ("fetch", "callback", "check then fetch"):
        tried += 1
        if how == "fetch":
            fetch(f"http://{name}/x", POLICY, parameter="p")
        elif how == "callback":
            with pytest.raises(FetchError):  # the second answer is private: refused, not fetched
                post_reading(f"http://{name}/x", b"{}", {}, POLICY, timeout=5.0)
        else:
            with pytest.raises(FetchError):
                fetch(f"http://{name}/x", POLICY, parameter="p")
    assert network.exchanges == [PUBLIC]
    assert not network.reached_private()
    record(f"SSRF: DNS rebinding ({name})", tried=tried, handled=tried)
