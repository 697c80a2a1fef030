"""subject2video: a self-hosted subject-to-video service with a Wiro-compatible task API."""

__version__ = "0.1.0"

from subject2video.contract import MODEL_OWNER, MODEL_PROJECT

__all__ = ["MODEL_OWNER", "MODEL_PROJECT", "__version__"]
