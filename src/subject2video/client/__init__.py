"""A Python client for Wiro's task API: the hosted service and this server alike.

from subject2video.client import Client

with Client(api_key="...", api_secret="...", base_url="http://127.0.0.1:8000") as client:
    task = client.wait(client.run(image="face.jpg", prompt="She smiles and turns her head"))
    print(client.download(task, "videos"))
"""

from subject2video.client._client import AsyncClient, Client
from subject2video.client._core import (
    DEFAULT_BASE_URL,
    DEFAULT_MODEL,
    HOSTED_BASE_URL,
    HOSTED_SOCKET_URL,
    Config,
    NonceGenerator,
    sign,
    socket_url_for,
)
from subject2video.client._exceptions import (
    APIError,
    AuthenticationError,
    BadRequestError,
    ClientError,
    ConflictError,
    DownloadError,
    NotFoundError,
    RateLimitError,
    ServerError,
    TransportError,
    WaitTimeout,
)
from subject2video.client._models import Event, Output, Progress, RunResult, Task, TaskStatus

__all__ = [
    "DEFAULT_BASE_URL",
    "DEFAULT_MODEL",
    "HOSTED_BASE_URL",
    "HOSTED_SOCKET_URL",
    "APIError",
    "AsyncClient",
    "AuthenticationError",
    "BadRequestError",
    "Client",
    "ClientError",
    "Config",
    "ConflictError",
    "DownloadError",
    "Event",
    "NonceGenerator",
    "NotFoundError",
    "Output",
    "Progress",
    "RateLimitError",
    "RunResult",
    "ServerError",
    "Task",
    "TaskStatus",
    "TransportError",
    "WaitTimeout",
    "sign",
    "socket_url_for",
]
