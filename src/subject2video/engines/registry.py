"""Engines by name. Imports are lazy so that choosing one engine never loads another's models."""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from subject2video.engines.base import Engine

if TYPE_CHECKING:
    from subject2video.config import Settings

_FACTORIES: dict[str, str | Callable[..., Engine]] = {
    "camera": "subject2video.engines.camera:CameraEngine",
    "diffusion": "subject2video.engines.diffusion.engine:DiffusionEngine",
    "portrait": "subject2video.engines.portrait:PortraitEngine",
}


def register_engine(name: str, factory: str | Callable[..., Engine]) -> None:
    """Register an engine factory, either a callable or a "module:attribute" path."""
    _FACTORIES[name] = factory


def available_engines() -> list[str]:
    return sorted(_FACTORIES)


def engine_class(name: str) -> Callable[..., Engine]:
    """The factory (usually the class) of the engine called `name` or at "module:Class", imported
    but not built: what `S2V_WORKERS`' default reads its `cpu_threads` and `uses_gpu` from."""
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
    return factory


def create_engine(name: str, settings: Settings | None = None) -> Engine:
    """Build the engine called `name`, or at import path "module:Class" (not yet set up).

    A factory that declares a `settings` parameter is given the service's settings.
    """
    factory = engine_class(name)
    kwargs: dict[str, Any] = {}
    if settings is not None and _takes_settings(factory):
        kwargs["settings"] = settings
    return factory(**kwargs)


def _takes_settings(factory: Callable[..., Engine]) -> bool:
    try:
        return "settings" in inspect.signature(factory).parameters
    except (TypeError, ValueError):
        return False
