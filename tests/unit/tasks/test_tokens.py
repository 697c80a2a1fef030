"""Access tokens: drawn from a CSPRNG, 30 symbols of 62 (moved from tests/security, no server)."""

from __future__ import annotations

import pytest

from subject2video.tasks.store import engine as store_module


def test_tokens_come_from_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tokens are drawn with `secrets` (a CSPRNG), 30 of 62 symbols."""
    drawn: list[str] = []
    real = store_module.secrets.choice
    monkeypatch.setattr(store_module.secrets, "choice", lambda s: drawn.append(s) or real(s))
    value = store_module.token()
    assert len(value) == 30 and len(drawn) == 30 and len(set(drawn[0])) == 62
