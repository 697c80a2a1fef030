"""The dialects as the conformance suite (test_conformance.py) drives them: one row each.

A row says, in its dialect's own words on the wire, how to make a video from a photo, read its
state and its MP4's URL, list, cancel, kill and delete (where the dialect has them), and how its
error body reads. The suite then runs the same checks over every row. A new dialect is one more
class here and one more entry in `ROWS`, not a test file.

States are normalised to: queued, running, succeeded, failed, canceled, and gone (the dialect
answers that the task is not there).
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar
from urllib.parse import urlsplit

import httpx

#: A photo URL the fetch rules refuse (a private address: refused before any connection).
REFUSED_URL = "http://10.1.2.3/face.jpg"
#: Bytes that are no image.
NOT_AN_IMAGE = b"this is not an image, it is a sentence"
#: An upload over the 20 MB every dialect accepts (refused at the door, before any decoding).
TOO_LARGE = b"\xff" * (20 * 1024 * 1024 + 1)
#: Every spelling of the photo input across the dialects: a dialect's error names only its own.
PHOTO_NAMES = (
    "inputImageFirstUrl",
    "inputImageFirst",
    "first_frame_image",
    "subject_reference",
    "input_reference",
)


@dataclass(frozen=True)
class Refusal:
    """An error answer, read from the dialect's error body (whose shape the row checks)."""

    http: int
    #: The dialect's own error code or title (Wiro's `code`, MiniMax's `status_code`, OpenAI's
    #: `error.code`, Replicate's `title`).
    code: Any
    #: Everything the body says in words (messages, params, field names), for name checks.
    text: str


@dataclass(frozen=True)
class BadInput:
    """A request with one wrong input, and the input's name as this dialect spells it."""

    name: str
    send: Callable[[httpx.Client, str], httpx.Response]
    #: What the error must name (the dialect's spelling of the wrong input).
    names: str
    #: Set while a known bug makes the dialect fail the case: the row is then a strict xfail.
    xfail: str = ""


def path_of(url: str) -> str:
    """A URL the server printed, as a path on the in-process client."""
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def data_uri(data: bytes, kind: str = "image/jpeg") -> str:
    return f"data:{kind};base64,{base64.b64encode(data).decode()}"


@dataclass
class Row:
    """One dialect. Subclasses fill in the wire; None capabilities are not in the dialect."""

    name: ClassVar[str]
    #: Whether a cancel reaches a queued task, a kill a running one, a delete a final one.
    has_list: ClassVar[bool] = False
    has_cancel: ClassVar[bool] = False
    has_kill: ClassVar[bool] = False
    has_delete: ClassVar[bool] = False
    #: capability -> reason, for checks a known bug fails today (strict xfails).
    xfail: ClassVar[dict[str, str]] = {}
    bad_inputs: list[BadInput] = field(default_factory=list)

    def headers(self, key: str) -> dict[str, str]:
        return {"authorization": f"Bearer {key}"}

    def create(self, c: httpx.Client, key: str, photo: bytes) -> str:
        raise NotImplementedError

    def create_from_url(self, c: httpx.Client, key: str, url: str) -> str:
        raise NotImplementedError

    def state(self, c: httpx.Client, key: str, task: str) -> str:
        raise NotImplementedError

    def video_url(self, c: httpx.Client, key: str, task: str) -> str:
        """The MP4's URL as the dialect gives it (fetched with the row's auth headers)."""
        raise NotImplementedError

    def listed(self, c: httpx.Client, key: str) -> list[str]:
        raise NotImplementedError

    def cancel(self, c: httpx.Client, key: str, task: str) -> httpx.Response:
        raise NotImplementedError

    def kill(self, c: httpx.Client, key: str, task: str) -> httpx.Response:
        raise NotImplementedError

    def delete(self, c: httpx.Client, key: str, task: str) -> httpx.Response:
        raise NotImplementedError

    def check_deleted(self, c: httpx.Client, key: str, task: str) -> None:
        """Fails unless a deleted task reads as the dialect says a deleted one does."""
        raise NotImplementedError

    def refusal(self, response: httpx.Response) -> Refusal:
        """Read an error answer; fails unless it is in the dialect's error body."""
        raise NotImplementedError

    def unknown_model(self, c: httpx.Client, key: str) -> httpx.Response:
        raise NotImplementedError

    #: The video made: frames, and the short side in pixels (Wiro's 6 s at 25 fps, 720p).
    video: ClassVar[tuple[int, int]] = (150, 720)
    #: (HTTP status, code) of an unknown key, and of an unknown model.
    bad_key_answer: ClassVar[tuple[int, Any]]
    unknown_model_answer: ClassVar[tuple[int, Any]]


# -- Wiro ---------------------------------------------------------------------------------------

WIRO_RUN = "/v1/Run/MiniMax/image-to-video-hailuo-01-subject"
WIRO_RUNNING = {"task_queue": "queued", "task_cancel": "canceled"}


class Wiro(Row):
    name = "wiro"
    has_list = has_cancel = has_kill = has_delete = True
    bad_key_answer = (401, 0)
    unknown_model_answer = (404, 1)

    def __init__(self) -> None:
        super().__init__(
            bad_inputs=[
                BadInput(
                    "url",
                    lambda c, k: c.post(
                        WIRO_RUN, headers=self.headers(k), data={"inputImageFirstUrl": REFUSED_URL}
                    ),
                    "inputImageFirstUrl",
                ),
                BadInput(
                    "framing",
                    lambda c, k: c.post(
                        WIRO_RUN,
                        headers=self.headers(k),
                        data={"inputImageFirstUrl": REFUSED_URL, "framing": "sideways"},
                    ),
                    "framing",
                ),
                BadInput(
                    "upload-too-large",
                    lambda c, k: c.post(
                        WIRO_RUN,
                        headers=self.headers(k),
                        files={"inputImageFirst": ("face.jpg", TOO_LARGE, "image/jpeg")},
                    ),
                    "inputImageFirst",
                ),
            ]
        )

    def headers(self, key: str) -> dict[str, str]:
        return {"x-api-key": key}

    def _ok(self, response: httpx.Response) -> dict[str, Any]:
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["result"] is True and body["errors"] == [], body
        return body

    def create(self, c: httpx.Client, key: str, photo: bytes) -> str:
        files = {"inputImageFirst": ("face.jpg", photo, "image/jpeg")}
        data = {"prompt": "She smiles"}
        return self._ok(c.post(WIRO_RUN, headers=self.headers(key), files=files, data=data))[
            "taskid"
        ]

    def create_from_url(self, c: httpx.Client, key: str, url: str) -> str:
        data = {"inputImageFirstUrl": url}
        return self._ok(c.post(WIRO_RUN, headers=self.headers(key), data=data))["taskid"]

    def _detail(self, c: httpx.Client, key: str, task: str) -> dict[str, Any]:
        response = c.post("/v1/Task/Detail", headers=self.headers(key), json={"taskid": task})
        return self._ok(response)["tasklist"][0]

    def state(self, c: httpx.Client, key: str, task: str) -> str:
        detail = self._detail(c, key, task)
        if detail["status"] == "task_postprocess_end":
            return "succeeded" if detail["pexit"] == "0" else "failed"
        return WIRO_RUNNING.get(detail["status"], "running")

    def video_url(self, c: httpx.Client, key: str, task: str) -> str:
        return self._detail(c, key, task)["outputs"][0]["url"]

    def listed(self, c: httpx.Client, key: str) -> list[str]:
        body = self._ok(c.post("/v1/Task/List", headers=self.headers(key), json={}))
        return [t["id"] for t in body["tasklist"]]

    def cancel(self, c: httpx.Client, key: str, task: str) -> httpx.Response:
        return c.post("/v1/Task/Cancel", headers=self.headers(key), json={"taskid": task})

    def kill(self, c: httpx.Client, key: str, task: str) -> httpx.Response:
        return c.post("/v1/Task/Kill", headers=self.headers(key), json={"taskid": task})

    def delete(self, c: httpx.Client, key: str, task: str) -> httpx.Response:
        return c.post(
            "/v1/Task/InputOutputDelete", headers=self.headers(key), json={"taskid": task}
        )

    def check_deleted(self, c: httpx.Client, key: str, task: str) -> None:
        """InputOutputDelete keeps the task and drops its outputs."""
        detail = self._detail(c, key, task)
        assert detail["status"] == "task_postprocess_end" and detail["outputs"] == [], detail

    def refusal(self, response: httpx.Response) -> Refusal:
        body = response.json()
        assert body["result"] is False and len(body["errors"]) == 1, body
        error = body["errors"][0]
        assert isinstance(error["code"], int) and isinstance(error["message"], str), body
        return Refusal(response.status_code, error["code"], error["message"])

    def unknown_model(self, c: httpx.Client, key: str) -> httpx.Response:
        data = {"inputImageFirstUrl": "https://example.com/face.jpg"}
        return c.post("/v1/Run/MiniMax/no-such-model", headers=self.headers(key), data=data)


# -- MiniMax ------------------------------------------------------------------------------------

MINIMAX_STATES = {
    "Queueing": "queued",
    "Preparing": "running",
    "Processing": "running",
    "Success": "succeeded",
    "Fail": "failed",
}


class Minimax(Row):
    name = "minimax"
    bad_key_answer = (200, 2049)
    unknown_model_answer = (200, 2013)

    def __init__(self) -> None:
        super().__init__(
            bad_inputs=[
                BadInput(
                    "subject-url",
                    lambda c, k: self._generate(c, k, self._subject(REFUSED_URL)),
                    "subject_reference",
                ),
                BadInput(
                    "framing",
                    lambda c, k: self._generate(
                        c, k, {**self._subject(REFUSED_URL), "framing": "sideways"}
                    ),
                    "framing",
                ),
                BadInput(
                    "subject-data",
                    lambda c, k: self._generate(c, k, self._subject(data_uri(NOT_AN_IMAGE))),
                    "subject_reference",
                ),
                BadInput(
                    "first-frame-url",
                    lambda c, k: self._generate(
                        c, k, {"model": "I2V-01", "first_frame_image": REFUSED_URL}
                    ),
                    "first_frame_image",
                ),
            ]
        )

    @staticmethod
    def _subject(image: str) -> dict[str, Any]:
        subject = {"type": "character", "image": [image]}
        return {"model": "S2V-01", "prompt": "She smiles", "subject_reference": [subject]}

    def _generate(self, c: httpx.Client, key: str, body: dict[str, Any]) -> httpx.Response:
        return c.post("/v1/video_generation", headers=self.headers(key), json=body)

    def _ok(self, response: httpx.Response) -> dict[str, Any]:
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["base_resp"]["status_code"] == 0, body
        return body

    def create(self, c: httpx.Client, key: str, photo: bytes) -> str:
        return self._ok(self._generate(c, key, self._subject(data_uri(photo))))["task_id"]

    def create_from_url(self, c: httpx.Client, key: str, url: str) -> str:
        return self._ok(self._generate(c, key, self._subject(url)))["task_id"]

    def _query(self, c: httpx.Client, key: str, task: str) -> dict[str, Any]:
        response = c.get(
            "/v1/query/video_generation", headers=self.headers(key), params={"task_id": task}
        )
        assert response.status_code == 200, response.text
        return response.json()

    def state(self, c: httpx.Client, key: str, task: str) -> str:
        return MINIMAX_STATES[self._query(c, key, task)["status"]]

    def video_url(self, c: httpx.Client, key: str, task: str) -> str:
        file_id = self._query(c, key, task)["file_id"]
        response = c.get(
            "/v1/files/retrieve", headers=self.headers(key), params={"file_id": file_id}
        )
        return self._ok(response)["file"]["download_url"]

    def refusal(self, response: httpx.Response) -> Refusal:
        body = response.json()
        status = body["base_resp"]
        assert isinstance(status["status_code"], int) and status["status_code"] != 0, body
        assert isinstance(status["status_msg"], str), body
        return Refusal(response.status_code, status["status_code"], status["status_msg"])

    def unknown_model(self, c: httpx.Client, key: str) -> httpx.Response:
        body = {**self._subject("https://example.com/face.jpg"), "model": "S2V-99"}
        return self._generate(c, key, body)


# -- OpenAI -------------------------------------------------------------------------------------

OPENAI_STATES = {"queued": "queued", "in_progress": "running", "completed": "succeeded"}


class OpenAI(Row):
    name = "openai"
    has_list = has_kill = has_delete = True
    video = (50, 480)  # it asks for 2 s at 480x480
    bad_key_answer = (401, "invalid_api_key")
    unknown_model_answer = (400, "model_not_found")

    def __init__(self) -> None:
        super().__init__(
            bad_inputs=[
                BadInput(
                    "url",
                    lambda c, k: c.post(
                        "/v1/videos",
                        headers=self.headers(k),
                        json={"input_reference": {"image_url": REFUSED_URL}},
                    ),
                    "input_reference",
                ),
                BadInput(
                    "upload",
                    lambda c, k: c.post(
                        "/v1/videos",
                        headers=self.headers(k),
                        files={"input_reference": ("face.jpg", NOT_AN_IMAGE, "image/jpeg")},
                    ),
                    "input_reference",
                ),
                BadInput(
                    "framing",
                    lambda c, k: c.post(
                        "/v1/videos",
                        headers=self.headers(k),
                        files={"input_reference": ("face.jpg", NOT_AN_IMAGE, "image/jpeg")},
                        data={"framing": "sideways"},
                    ),
                    "framing",
                ),
            ]
        )

    def _ok(self, response: httpx.Response) -> dict[str, Any]:
        assert response.status_code == 200, response.text
        return response.json()

    def create(self, c: httpx.Client, key: str, photo: bytes) -> str:
        files = {"input_reference": ("face.jpg", photo, "image/jpeg")}
        data = {"model": "s2v-1", "prompt": "She smiles", "seconds": "2", "size": "480x480"}
        return self._ok(c.post("/v1/videos", headers=self.headers(key), files=files, data=data))[
            "id"
        ]

    def create_from_url(self, c: httpx.Client, key: str, url: str) -> str:
        body = {"input_reference": {"image_url": url}, "seconds": "2"}
        return self._ok(c.post("/v1/videos", headers=self.headers(key), json=body))["id"]

    def state(self, c: httpx.Client, key: str, task: str) -> str:
        response = c.get(f"/v1/videos/{task}", headers=self.headers(key))
        if response.status_code == 404:
            self.refusal(response)
            return "gone"
        video = self._ok(response)
        if video["status"] == "failed":
            return "canceled" if video["error"]["code"] == "cancelled" else "failed"
        return OPENAI_STATES[video["status"]]

    def video_url(self, c: httpx.Client, key: str, task: str) -> str:
        return f"/v1/videos/{task}/content"

    def listed(self, c: httpx.Client, key: str) -> list[str]:
        body = self._ok(c.get("/v1/videos", headers=self.headers(key), params={"limit": 100}))
        return [v["id"] for v in body["data"]]

    def kill(self, c: httpx.Client, key: str, task: str) -> httpx.Response:
        """OpenAI has no cancel: DELETE kills an unfinished video (and deletes it)."""
        return c.delete(f"/v1/videos/{task}", headers=self.headers(key))

    def delete(self, c: httpx.Client, key: str, task: str) -> httpx.Response:
        return c.delete(f"/v1/videos/{task}", headers=self.headers(key))

    def check_deleted(self, c: httpx.Client, key: str, task: str) -> None:
        """OpenAI answers a deleted video with 404, and lists it no more."""
        state = self.state(c, key, task)
        assert state == "gone", f"GET /v1/videos/{task} after its DELETE reads {state}"
        assert task not in self.listed(c, key), f"{task} is still listed after its DELETE"

    def refusal(self, response: httpx.Response) -> Refusal:
        error = response.json()["error"]
        assert set(error) == {"message", "type", "param", "code"}, error
        assert isinstance(error["message"], str) and isinstance(error["type"], str), error
        return Refusal(response.status_code, error["code"], json.dumps(error))

    def unknown_model(self, c: httpx.Client, key: str) -> httpx.Response:
        body = {"model": "sora-2", "input_reference": {"image_url": "https://example.com/a.jpg"}}
        return c.post("/v1/videos", headers=self.headers(key), json=body)


# -- Replicate ----------------------------------------------------------------------------------

REPLICATE_STATES = {
    "starting": "queued",
    "processing": "running",
    "succeeded": "succeeded",
    "failed": "failed",
    "canceled": "canceled",
}
REPLICATE_CREATE = "/v1/models/minimax/video-01/predictions"


class Replicate(Row):
    name = "replicate"
    has_list = has_cancel = has_kill = True
    bad_key_answer = (401, "Unauthenticated")
    unknown_model_answer = (404, "Model not found")

    def __init__(self) -> None:
        super().__init__(
            bad_inputs=[
                BadInput(
                    "subject-url",
                    lambda c, k: c.post(
                        REPLICATE_CREATE,
                        headers=self.headers(k),
                        json={"input": {"subject_reference": REFUSED_URL}},
                    ),
                    "subject_reference",
                ),
                BadInput(
                    "framing",
                    lambda c, k: c.post(
                        REPLICATE_CREATE,
                        headers=self.headers(k),
                        json={"input": {"subject_reference": REFUSED_URL, "framing": "sideways"}},
                    ),
                    "framing",
                ),
                BadInput(
                    "first-frame-data",
                    lambda c, k: c.post(
                        "/v1/models/minimax/video-01-live/predictions",
                        headers=self.headers(k),
                        json={"input": {"first_frame_image": data_uri(NOT_AN_IMAGE)}},
                    ),
                    "first_frame_image",
                ),
            ]
        )

    def _ok(self, response: httpx.Response, status: int = 200) -> dict[str, Any]:
        assert response.status_code == status, response.text
        return response.json()

    def create(self, c: httpx.Client, key: str, photo: bytes) -> str:
        body = {"input": {"prompt": "She smiles", "subject_reference": data_uri(photo)}}
        return self._ok(c.post(REPLICATE_CREATE, headers=self.headers(key), json=body), 201)["id"]

    def create_from_url(self, c: httpx.Client, key: str, url: str) -> str:
        body = {"input": {"subject_reference": url}}
        return self._ok(c.post(REPLICATE_CREATE, headers=self.headers(key), json=body), 201)["id"]

    def _get(self, c: httpx.Client, key: str, task: str) -> dict[str, Any]:
        return self._ok(c.get(f"/v1/predictions/{task}", headers=self.headers(key)))

    def state(self, c: httpx.Client, key: str, task: str) -> str:
        prediction = self._get(c, key, task)
        if prediction["status"] == "starting" and prediction["started_at"]:
            return "running"
        return REPLICATE_STATES[prediction["status"]]

    def video_url(self, c: httpx.Client, key: str, task: str) -> str:
        output = self._get(c, key, task)["output"]
        assert isinstance(output, str), output
        return output

    def listed(self, c: httpx.Client, key: str) -> list[str]:
        body = self._ok(c.get("/v1/predictions", headers=self.headers(key)))
        return [p["id"] for p in body["results"]]

    def cancel(self, c: httpx.Client, key: str, task: str) -> httpx.Response:
        return c.post(f"/v1/predictions/{task}/cancel", headers=self.headers(key))

    def kill(self, c: httpx.Client, key: str, task: str) -> httpx.Response:
        """Replicate's cancel stops a prediction at any status before the end."""
        return self.cancel(c, key, task)

    def refusal(self, response: httpx.Response) -> Refusal:
        body = response.json()
        assert isinstance(body["title"], str) and isinstance(body["detail"], str), body
        assert body["status"] == response.status_code, body
        return Refusal(response.status_code, body["title"], json.dumps(body))

    def unknown_model(self, c: httpx.Client, key: str) -> httpx.Response:
        body = {"input": {"subject_reference": "https://example.com/face.jpg"}}
        return c.post(
            "/v1/models/minimax/no-such-model/predictions", headers=self.headers(key), json=body
        )


ROWS: list[Row] = [Wiro(), Minimax(), OpenAI(), Replicate()]
