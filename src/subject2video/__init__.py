"""subject2video: a self-hosted subject-to-video service with a Wiro-compatible task API."""

__version__ = "0.1.0"

#: The hosted model this server stands in for; its slug is served by the Run route.
MODEL_OWNER = "MiniMax"
MODEL_PROJECT = "image-to-video-hailuo-01-subject"

__all__ = ["MODEL_OWNER", "MODEL_PROJECT", "__version__"]
