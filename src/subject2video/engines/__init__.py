"""Engines turn a validated request into frames. See `base` for the protocol."""

from subject2video.engines.base import (
    Engine,
    Face,
    GenerationContext,
    GenerationRequest,
)
from subject2video.engines.registry import available_engines, create_engine, register_engine

__all__ = [
    "Engine",
    "Face",
    "GenerationContext",
    "GenerationRequest",
    "available_engines",
    "create_engine",
    "register_engine",
]
