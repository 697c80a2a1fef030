// The Wiro-compatible API from the browser: signed requests and the task WebSocket.
// Like any client: x-api-key, and for signature projects x-nonce (strictly increasing unix ms)
// and x-signature = hex(HMAC-SHA256(key = API key, message = secret + nonce)).

import { hmacSha256Hex } from "./hmac.js";

export const SLUG = "MiniMax/image-to-video-hailuo-01-subject";
export const FINAL = new Set(["task_postprocess_end", "task_cancel"]);
const STORAGE_KEY = "s2v.credentials";

/** The credentials kept in this tab's session storage, or null. */
export function loadCredentials() {
  try {
    const value = JSON.parse(sessionStorage.getItem(STORAGE_KEY) || "null");
    return value && value.key ? value : null;
  } catch {
    return null;
  }
}

export function saveCredentials(credentials) {
  sessionStorage.setItem(STORAGE_KEY, JSON.stringify(credentials));
}

export function clearCredentials() {
  sessionStorage.removeItem(STORAGE_KEY);
}

/** Credentials from a `#key=...&secret=...` fragment (what `s2v serve` prints), or null. */
export function credentialsFromHash(hash) {
  const params = new URLSearchParams(hash.replace(/^#/, ""));
  const key = (params.get("key") || "").trim();
  return key ? { key, secret: (params.get("secret") || "").trim() } : null;
}

export class ApiError extends Error {
  constructor(message, status = 0, code = 0) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

let lastNonce = 0;

function nextNonce() {
  lastNonce = Math.max(Date.now(), lastNonce + 1);
  return String(lastNonce);
}

export class Api {
  constructor(credentials) {
    this.key = credentials.key;
    this.secret = credentials.secret || "";
  }

  async headers() {
    const headers = { "x-api-key": this.key };
    if (this.secret) {
      const nonce = nextNonce();
      headers["x-nonce"] = nonce;
      headers["x-signature"] = await hmacSha256Hex(this.key, this.secret + nonce);
    }
    return headers;
  }

  /** POST a FormData or a plain object (as JSON); the parsed body, or an ApiError. */
  async post(path, body = {}) {
    const headers = await this.headers();
    let payload = body;
    if (!(body instanceof FormData)) {
      headers["content-type"] = "application/json";
      payload = JSON.stringify(body);
    }
    let response;
    try {
      response = await fetch(path, { method: "POST", headers, body: payload });
    } catch (error) {
      throw new ApiError(`The server could not be reached (${error.message}).`);
    }
    let data = null;
    try {
      data = await response.json();
    } catch {
      throw new ApiError(`The server answered HTTP ${response.status}.`, response.status);
    }
    if (!response.ok || !data.result) {
      const first = (data.errors || [])[0] || {};
      throw new ApiError(first.message || `HTTP ${response.status}`, response.status, first.code);
    }
    return data;
  }

  tool() { return this.post("/v1/Tool/Detail", {}); }
  run(form) { return this.post(`/v1/Run/${SLUG}`, form); }
  detectFace(form) { return this.post("/v1/Face/Detect", form); }
  async detail(taskid) { return (await this.post("/v1/Task/Detail", { taskid })).tasklist[0]; }
  async kill(taskid) { return (await this.post("/v1/Task/Kill", { taskid })).tasklist[0]; }
  async cancel(taskid) { return (await this.post("/v1/Task/Cancel", { taskid })).tasklist[0]; }
  list(limit = 12) { return this.post("/v1/Task/List", { limit: String(limit) }); }
  async deleteIO(taskid) {
    return (await this.post("/v1/Task/InputOutputDelete", { taskid })).tasklist[0];
  }
}

/**
 * One WebSocket to /v1 for every task the page follows. `onFrame(frame)` gets each frame;
 * `onDown()` is called when the connection is lost (the page then polls Task/Detail).
 */
export class TaskSocket {
  constructor(onFrame, onDown) {
    this.onFrame = onFrame;
    this.onDown = onDown;
    this.tokens = new Set();
    this.ws = null;
    this.open = false;
  }

  connect() {
    if (this.ws) return;
    const scheme = location.protocol === "https:" ? "wss:" : "ws:";
    const ws = new WebSocket(`${scheme}//${location.host}/v1`);
    this.ws = ws;
    ws.addEventListener("open", () => {
      this.open = true;
      for (const token of this.tokens) this.send(token);
    });
    ws.addEventListener("message", (event) => {
      let frame;
      try {
        frame = JSON.parse(event.data);
      } catch {
        return;
      }
      if (frame && frame.type !== "connected") this.onFrame(frame);
    });
    ws.addEventListener("close", () => {
      this.ws = null;
      this.open = false;
      this.onDown();
    });
  }

  subscribe(token) {
    this.tokens.add(token);
    this.connect();
    if (this.open) this.send(token);
  }

  send(token) {
    this.ws.send(JSON.stringify({ type: "task_info", tasktoken: token }));
  }
}
