"""The signed-in playground address that `s2v serve` prints on its first start."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

from subject2video.cli.server import playground_url


def test_credentials_ride_in_the_fragment_only() -> None:
    url = playground_url("http://127.0.0.1:8000", "KEY123", "SECRET456")
    parts = urlsplit(url)
    assert (parts.scheme, parts.netloc, parts.path, parts.query) == (
        "http",
        "127.0.0.1:8000",
        "/",
        "",
    )
    assert parse_qs(parts.fragment) == {"key": ["KEY123"], "secret": ["SECRET456"]}


def test_key_only_projects_have_no_secret() -> None:
    assert playground_url("http://h:1", "K", None) == "http://h:1/#key=K"
