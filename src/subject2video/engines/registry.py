"""Engines by name. Imports are lazy so that choosing one engine never loads another's models."""

from __future__ import annotations

import importlib
from collections.abc import Callable

from subject2video.engines.base import Engine

_FACTORIES: dict[str, str | Callable[[], Engine]] = {
    "camera": "subject2video.engines.camera:CameraEngine",
    "portrait": "subject2video.engines.portrait:PortraitEngine",
}


def register_engine(name: str, factory: str | Callable[[], Engine]) -> None:
    """Register an engine factory, either a callable or a "module:attribute" path."""
    _FACTORIES[name] = factory


def available_engines() -> list[str]:
    return sorted(_FACTORIES)


def create_engine(name: str) -> Engine:
    """Build the engine called `name`, or at import path "module:Class" (not yet set up)."""
    if ":" in name and name not in _FACTORIES:
        # An operator's own engine class, by import path ("package.module:EngineClass").
        _FACTORIES[name] = name
    try:
        factory = _FACTORIES[name]
    except KeyError:
        known = ", ".join(available_engines())
        raise ValueError(
            f"unknown engine {name!r}: choose one of {known} (setting S2V_ENGINE)"
        ) from None
    if isinstance(factory, str):
        module_name, _, attr = factory.partition(":")
        factory = getattr(importlib.import_module(module_name), attr)
    return factory()
