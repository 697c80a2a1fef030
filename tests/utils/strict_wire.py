"""A strict stand-in for the hosted API, written from the spec.

It checks every request a client sends (header names, the signature over secret + nonce, fresh
nonces, multipart and JSON field names, no unknown fields) and answers with the spec's JSON shapes.
Violations are recorded, not raised.
"""

from __future__ import annotations

import email.parser
import email.policy
import hashlib
import hmac
import http.server
import json
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

SLUG_PATH = "/v1/Run/MiniMax/image-to-video-hailuo-01-subject"
RUN_FIELDS = {"inputImageFirst", "inputImageFirstUrl", "prompt", "callbackUrl", "seed"}
TASK_FIELDS = {"taskid", "tasktoken", "socketaccesstoken"}
BODY_FIELDS = {
    "/v1/Task/Detail": TASK_FIELDS,
    "/v1/Task/Cancel": TASK_FIELDS,
    "/v1/Task/Kill": TASK_FIELDS,
    "/v1/Task/InputOutputDelete": TASK_FIELDS,
    "/v1/Task/List": {"start", "limit", "sort", "order", "status"},
    "/v1/Tool/Detail": {"slugowner", "slugproject"},
}
AUTH_HEADERS = {"x-api-key", "x-nonce", "x-signature"}
TOKEN = "eDcCm5yyUfIvMFspTwww49OUfgXkQt"

#: The seed document's Detail task, as the hosted API sends it.
SEED_TASK: dict[str, Any] = {
    "id": "2221",
    "uuid": "15bce51f-442f-4f44-a71d-13c6374a62bd",
    "socketaccesstoken": TOKEN,
    "parameters": {},
    "debugoutput": "",
    "debugerror": "",
    "starttime": "1734513809",
    "endtime": "1734513813",
    "elapsedseconds": "6.0000",
    "status": "task_postprocess_end",
    "createtime": "1734513807",
    "canceltime": "0",
    "assigntime": "1734513807",
    "accepttime": "1734513807",
    "preprocessstarttime": "1734513807",
    "preprocessendtime": "1734513807",
    "postprocessstarttime": "1734513813",
    "postprocessendtime": "1734513814",
    "pexit": "0",
    "cps": "0.000585000000",
    "totalcost": "0.003510000000",
    "outputs": [
        {
            "id": "6bc392c93856dfce3a7d1b4261e15af3",
            "name": "0.png",
            "contenttype": "image/png",
            "parentid": "6c1833f39da71e6175bf292b18779baf",
            "uuid": "15bce51f-442f-4f44-a71d-13c6374a62bd",
            "size": "202472",
            "addedtime": "1734513812",
            "modifiedtime": "1734513812",
            "accesskey": "dFKlMApaSgMeHKsJyaDeKrefcHahUK",
            "url": "https://cdn1.wiro.ai/6a6af820/0.png",
        }
    ],
    "size": "202472",
}


@dataclass
class Seen:
    """One request as the recorder parsed it."""

    path: str
    headers: dict[str, str]
    fields: dict[str, str]
    files: dict[str, str] = field(default_factory=dict)


@dataclass
class StrictWire:
    """The checks; `violations` lists every rule a request broke."""

    apikey: str
    apisecret: str | None
    requests: list[Seen] = field(default_factory=list)
    violations: list[str] = field(default_factory=list)
    nonces: set[str] = field(default_factory=set)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def check(self, path: str, headers: dict[str, str], body: bytes) -> tuple[int, dict[str, Any]]:
        """The status and JSON answer to one request; violations recorded on the way."""
        problems: list[str] = []
        if not self._authorized(headers, problems):
            self._record(path, problems)
            return 401, _error("Project authorization is not valid.", 0)
        content_type = headers.get("content-type", "")
        if path == SLUG_PATH:
            fields, files = self._multipart(content_type, body, problems)
            self._run_fields(fields, files, problems)
        elif path in BODY_FIELDS:
            files = {}
            fields = self._json(content_type, body, BODY_FIELDS[path], problems)
        else:
            self._record(path, [f"unknown path {path}"])
            return 404, _error("Error parsing url.", 1)
        with self.lock:
            self.requests.append(Seen(path, headers, fields, files))
        self._record(path, problems)
        if problems:
            return 400, _error("; ".join(problems), 0)
        return 200, _answer(path)

    def _record(self, path: str, problems: list[str]) -> None:
        with self.lock:
            self.violations.extend(f"{path}: {p}" for p in problems)

    def _authorized(self, headers: dict[str, str], problems: list[str]) -> bool:
        sent = {k for k in headers if k.startswith("x-")}
        if sent - AUTH_HEADERS:
            problems.append(f"unknown x- headers {sorted(sent - AUTH_HEADERS)}")
        if headers.get("x-api-key") != self.apikey:
            problems.append("x-api-key missing or wrong")
            return False
        if self.apisecret is None:
            if sent & {"x-nonce", "x-signature"}:
                problems.append("key-only project sent x-nonce or x-signature")
            return True
        nonce, signature = headers.get("x-nonce", ""), headers.get("x-signature", "")
        if not re.fullmatch(r"\d{13}", nonce):
            problems.append(f"x-nonce {nonce!r} is not unix milliseconds")
            return False
        expected = hmac.new(
            self.apikey.encode(), (self.apisecret + nonce).encode(), hashlib.sha256
        ).hexdigest()
        if not hmac.compare_digest(signature, expected):
            problems.append("x-signature is not hex(HMAC-SHA256(key=apikey, msg=secret+nonce))")
            return False
        with self.lock:
            if nonce in self.nonces:
                problems.append(f"x-nonce {nonce} reused")
                return False
            self.nonces.add(nonce)
        return True

    def _multipart(
        self, content_type: str, body: bytes, problems: list[str]
    ) -> tuple[dict[str, str], dict[str, str]]:
        if not content_type.startswith("multipart/form-data") or "boundary=" not in content_type:
            problems.append(f"Run body is not multipart/form-data with a boundary: {content_type}")
            return {}, {}
        message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
            f"Content-Type: {content_type}\r\n\r\n".encode() + body
        )
        fields: dict[str, str] = {}
        files: dict[str, str] = {}
        for part in message.iter_parts():
            disposition = part.get("content-disposition", "")
            if not str(disposition).startswith("form-data"):
                problems.append(f"part without form-data disposition: {disposition}")
                continue
            name = part.get_param("name", header="content-disposition")
            filename = part.get_filename()
            payload = part.get_payload(decode=True) or b""
            if filename is not None:
                files[str(name)] = f"{filename}:{part.get_content_type()}:{len(payload)}"
            else:
                fields[str(name)] = payload.decode()
        return fields, files

    def _run_fields(
        self, fields: dict[str, str], files: dict[str, str], problems: list[str]
    ) -> None:
        unknown = (set(fields) | set(files)) - RUN_FIELDS
        if unknown:
            problems.append(f"unknown Run fields {sorted(unknown)}")
        if set(files) - {"inputImageFirst"}:
            problems.append(f"files in fields other than inputImageFirst: {sorted(files)}")
        if "inputImageFirst" in fields:
            problems.append("inputImageFirst sent as a text field, not a file")
        if ("inputImageFirst" in files) == ("inputImageFirstUrl" in fields):
            problems.append("exactly one of inputImageFirst (file) or inputImageFirstUrl needed")
        url = fields.get("inputImageFirstUrl")
        if url is not None and not url.startswith(("http://", "https://")):
            problems.append(f"inputImageFirstUrl {url!r} is not an http(s) URL")

    def _json(
        self, content_type: str, body: bytes, allowed: set[str], problems: list[str]
    ) -> dict[str, str]:
        if content_type.split(";")[0].strip() != "application/json":
            problems.append(f"body is not application/json: {content_type}")
        try:
            data = json.loads(body)
        except ValueError:
            problems.append("body is not JSON")
            return {}
        if not isinstance(data, dict):
            problems.append("body is not a JSON object")
            return {}
        if set(data) - allowed:
            problems.append(f"unknown fields {sorted(set(data) - allowed)}")
        if not all(isinstance(v, str) for v in data.values()):
            problems.append(f"non-string values in {data}")
        if allowed is TASK_FIELDS and len(data) != 1:
            problems.append(f"a task is named by exactly one of {sorted(TASK_FIELDS)}: {data}")
        if "taskid" in data and not str(data["taskid"]).isdigit():
            problems.append(f"taskid {data['taskid']!r} is not decimal")
        return data


def _error(message: str, code: int) -> dict[str, Any]:
    return {"result": False, "errors": [{"code": code, "message": message}]}


def _answer(path: str) -> dict[str, Any]:
    if path == SLUG_PATH:
        return {"errors": [], "taskid": "2221", "socketaccesstoken": TOKEN, "result": True}
    if path == "/v1/Tool/Detail":
        return {"errors": [], "tool": [{"slugowner": "MiniMax", "parameters": []}], "result": True}
    return {"total": "1", "errors": [], "tasklist": [SEED_TASK], "result": True}


@contextmanager
def strict_wire(apikey: str, apisecret: str | None) -> Iterator[tuple[str, StrictWire]]:
    """A threaded HTTP server on 127.0.0.1 running the checks; yields its URL and the checker."""
    wire = StrictWire(apikey, apisecret)

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: Any) -> None:
            return None

        def do_POST(self) -> None:
            length = int(self.headers.get("content-length") or 0)
            body = self.rfile.read(length)
            headers = {k.lower(): v for k, v in self.headers.items()}
            status, answer = wire.check(self.path, headers, body)
            data = json.dumps(answer).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", wire
    finally:
        server.shutdown()
        server.server_close()
