// The playground: sign in, choose a photo (face marked), submit, follow the task live, see the
// video and its motion plan, and manage this project's tasks. Plain ES modules, no build step.

import {
  Api, ApiError, FINAL, TaskSocket, clearCredentials, credentialsFromHash, loadCredentials,
  saveCredentials,
} from "./api.js";
import { renderHistory } from "./history.js";

const STATUSES = [
  ["task_queue", "Queued"],
  ["task_accept", "Accepted"],
  ["task_preprocess_start", "Checking the photo"],
  ["task_preprocess_end", "Photo checked"],
  ["task_assign", "Assigned to a worker"],
  ["task_start", "Generating"],
  ["task_output", "Frames"],
  ["task_output_full", "All frames made"],
  ["task_end", "Generation done"],
  ["task_postprocess_start", "Storing the video"],
  ["task_postprocess_end", "Finished"],
];
const RANK = new Map(STATUSES.map(([status], i) => [status, i]));
const CANCELLABLE = new Set(["task_queue", "task_accept"]);

const $ = (id) => document.getElementById(id);

const state = {
  api: null,
  socket: null,
  defaultPrompt: "",
  defaultVoice: "",
  // Read from Tool/Detail at sign-in (each parameter's `limits`): nothing here repeats them.
  limits: { maxPrompt: 0, formats: [], maxImageBytes: 0 },
  image: null, // {file} or {url}
  detectSeq: 0,
  task: null, // the task shown: {id, token, status, started, ...}
  tick: null,
  poll: null,
  uploads: new Map(), // task id -> File, so that a re-run of an upload needs no new pick
};

// -- sign in ------------------------------------------------------------------------------------

async function start() {
  const fromHash = credentialsFromHash(location.hash);
  if (fromHash) {
    saveCredentials(fromHash);
    // The secret must not linger in the address bar, the history or a bookmark.
    history.replaceState(null, "", location.pathname + location.search);
  }
  const credentials = loadCredentials();
  if (credentials) await signIn(credentials);
  else showSignIn();
}

function showSignIn(message = "") {
  $("app").hidden = true;
  $("who").hidden = true;
  $("signin").hidden = false;
  showError($("signin-error"), message);
  $("apikey").focus();
}

async function signIn(credentials) {
  const api = new Api(credentials);
  try {
    const tool = await api.tool();
    applyLimits(tool.tool[0].parameters || []);
  } catch (error) {
    clearCredentials();
    showSignIn(error instanceof ApiError ? error.message : String(error));
    return;
  }
  saveCredentials(credentials);
  state.api = api;
  state.socket = new TaskSocket(onFrame, onSocketDown);
  $("signin").hidden = true;
  $("app").hidden = false;
  $("who").hidden = false;
  $("who-key").textContent = `${credentials.key.slice(0, 6)}…`;
  if (!$("prompt").value) $("prompt").value = state.defaultPrompt;
  updateCount();
  refreshHistory();
}

/** The form's limits and choices from Tool/Detail's parameters (the contract, as served). */
function applyLimits(parameters) {
  const param = (name) => parameters.find((p) => p.name === name) || {};
  const prompt = param("prompt");
  const image = param("inputImageFirstUrl").limits || {};
  const voice = param("voice");
  state.defaultPrompt = prompt.default || "";
  state.defaultVoice = voice.default || "";
  state.limits = {
    maxPrompt: (prompt.limits || {}).maxlength || 0,
    formats: image.formats || [],
    maxImageBytes: image.maxbytes || 0,
  };
  if (state.limits.maxPrompt) $("prompt").maxLength = state.limits.maxPrompt;
  if (state.limits.formats.length) {
    $("file").accept = state.limits.formats.map((format) => `image/${format}`).join(",");
    $("photo-formats").textContent = state.limits.formats.map((f) => f.toUpperCase()).join(", ");
  }
  const audio = param("inputAudioUrl").limits || {};
  if (audio.formats && audio.maxseconds) {
    const formats = audio.formats.map((f) => f.toUpperCase()).join(", ");
    $("audio-hint").textContent =
      `(optional: ${formats}, at most ${audio.maxseconds} s; the lips follow it)`;
  }
  const options = (voice.limits || {}).options || [];
  if (options.length) {
    $("voice").replaceChildren(...options.map((name) => new Option(name, name)));
    $("voice").value = voice.default || options[0];
  }
}

$("signin-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const key = $("apikey").value.trim();
  if (!key) return showSignIn("Enter the API key.");
  signIn({ key, secret: $("apisecret").value.trim() });
});

$("sign-out").addEventListener("click", () => {
  clearCredentials();
  location.reload();
});

// -- the photo ----------------------------------------------------------------------------------

function chooseFile(file) {
  if (!file) return;
  const { formats, maxImageBytes } = state.limits;
  if (formats.length && !formats.some((format) => file.type === `image/${format}`)) {
    const names = formats.map((format) => format.toUpperCase()).join(", ");
    setFaceStatus("warn", `${file.name} is not an image of these formats: ${names}.`);
  } else if (maxImageBytes && file.size > maxImageBytes) {
    const mb = (maxImageBytes / 1024 / 1024).toFixed(0);
    setFaceStatus("warn", `${file.name} is over ${mb} MB, the largest photo Run accepts.`);
  }
  state.image = { file };
  $("image-url").value = "";
  const form = new FormData();
  form.append("inputImageFirst", file, file.name);
  preview(URL.createObjectURL(file), form);
}

function chooseUrl(url) {
  state.image = { url };
  const form = new FormData();
  form.append("inputImageFirstUrl", url);
  preview(url, form);
}

async function preview(src, form) {
  const seq = ++state.detectSeq;
  const img = $("preview-img");
  if (img.src.startsWith("blob:")) URL.revokeObjectURL(img.src);
  img.src = src;
  $("face-boxes").replaceChildren();
  $("preview").hidden = false;
  setFaceStatus("busy", "Looking for a face…");
  try {
    const answer = await state.api.detectFace(form);
    if (seq !== state.detectSeq) return;
    drawFaces(answer);
  } catch (error) {
    if (seq !== state.detectSeq) return;
    setFaceStatus("bad", `This photo would be refused: ${error.message}`);
  }
}

function drawFaces({ faces, width, height }) {
  const boxes = $("face-boxes");
  boxes.replaceChildren(...faces.map((face, i) => {
    const [left, top, right, bottom] = face.box;
    const div = document.createElement("div");
    div.className = i === 0 ? "face subject" : "face";
    div.style.left = `${(100 * left) / width}%`;
    div.style.top = `${(100 * top) / height}%`;
    div.style.width = `${(100 * (right - left)) / width}%`;
    div.style.height = `${(100 * (bottom - top)) / height}%`;
    return div;
  }));
  if (!faces.length) {
    setFaceStatus("bad", "No human face found in this photo. The model accepts only a human " +
      "face, so a task with it would fail.");
  } else if (faces.length === 1) {
    setFaceStatus("ok", `Face found (${width}×${height} photo): the marked face will move.`);
  } else {
    setFaceStatus("ok", `${faces.length} faces found: the largest, marked in solid, will move.`);
  }
}

function setFaceStatus(kind, text) {
  const status = $("face-status");
  status.className = `face-status ${kind}`;
  status.textContent = text;
}

$("file").addEventListener("change", () => chooseFile($("file").files[0]));
$("use-url").addEventListener("click", () => {
  const url = $("image-url").value.trim();
  if (!/^https?:\/\//i.test(url)) {
    setFaceStatus("bad", "Enter an http or https URL.");
    $("preview").hidden = false;
    return;
  }
  $("file").value = "";
  chooseUrl(url);
});
$("image-url").addEventListener("keydown", (event) => {
  if (event.key === "Enter") {
    event.preventDefault();
    $("use-url").click();
  }
});

const drop = $("drop");
for (const name of ["dragenter", "dragover"]) {
  drop.addEventListener(name, (event) => {
    event.preventDefault();
    drop.classList.add("over");
  });
}
for (const name of ["dragleave", "drop"]) {
  drop.addEventListener(name, () => drop.classList.remove("over"));
}
drop.addEventListener("drop", (event) => {
  event.preventDefault();
  const file = event.dataTransfer.files[0];
  if (file) {
    $("file").value = "";
    chooseFile(file);
    return;
  }
  const url = event.dataTransfer.getData("text/uri-list") || event.dataTransfer.getData("text");
  if (url && /^https?:\/\//i.test(url.trim())) {
    $("image-url").value = url.trim();
    chooseUrl(url.trim());
  }
});

// -- prompt, seed, submit -------------------------------------------------------------------------

function updateCount() {
  const length = $("prompt").value.length;
  const count = $("prompt-count");
  const max = state.limits.maxPrompt;
  count.textContent = max ? `${length} / ${max} characters` : `${length} characters`;
  count.classList.toggle("warn", max > 0 && length > max * 0.9);
}

$("prompt").addEventListener("input", updateCount);
$("prompt-default").addEventListener("click", () => {
  $("prompt").value = state.defaultPrompt;
  updateCount();
  $("prompt").focus();
});

function seedValue() {
  const seed = $("seed").value.trim();
  const bad = seed !== "" && !/^-?\d+$/.test(seed);
  showError($("seed-error"), bad ? "The seed must be a whole number, or empty." : "");
  $("seed").setAttribute("aria-invalid", String(bad));
  return bad ? null : seed;
}

$("run-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const seed = seedValue();
  if (seed === null) return $("seed").focus();
  if (!state.image) {
    showError($("run-error"), "Choose a photo of a face, drop one, or give its URL.");
    return $("file").focus();
  }
  await submit({
    image: state.image, prompt: $("prompt").value, seed,
    say: $("say").value.trim(), voice: $("voice").value, audioUrl: $("audio-url").value.trim(),
  });
});

async function submit({ image, prompt, seed, say = "", voice = "", audioUrl = "" }) {
  const form = new FormData();
  if (image.file) form.append("inputImageFirst", image.file, image.file.name);
  else form.append("inputImageFirstUrl", image.url);
  // The line to say goes into the prompt the way a caller would write it.
  if (say) {
    prompt = `${(prompt || "").trim()} The person says: "${say.replaceAll('"', "\u201d")}"`.trim();
  }
  if (prompt) form.append("prompt", prompt);
  if (seed) form.append("seed", seed);
  if (voice && voice !== state.defaultVoice) form.append("voice", voice);
  if (audioUrl) form.append("inputAudioUrl", audioUrl);
  showError($("run-error"), "");
  $("submit").disabled = true;
  try {
    const answer = await state.api.run(form);
    if (image.file) state.uploads.set(answer.taskid, image.file);
    follow({ id: answer.taskid, socketaccesstoken: answer.socketaccesstoken, status: "task_queue" });
    refreshHistory();
  } catch (error) {
    showError($("run-error"), error.message);
  } finally {
    $("submit").disabled = false;
  }
}

// -- following a task -----------------------------------------------------------------------------

function follow(task, { live = true } = {}) {
  stopTimers();
  state.task = {
    id: String(task.id),
    token: task.socketaccesstoken,
    status: null,
    started: Date.now(),
    error: "",
  };
  $("task-empty").hidden = true;
  $("task-view").hidden = false;
  $("task-id").textContent = `#${task.id}`;
  $("result").hidden = true;
  $("plan-box").hidden = true;
  $("video").removeAttribute("src");
  setProgress(0, null);
  $("remaining").textContent = "–";
  $("elapsed").textContent = "0s";
  showError($("task-error"), "");
  $("task-note").hidden = true;
  buildTimeline();
  setStatus(task.status || "task_queue");
  if (live && !FINAL.has(task.status)) {
    state.tick = setInterval(() => {
      $("elapsed").textContent = seconds((Date.now() - state.task.started) / 1000);
    }, 500);
    state.socket.subscribe(task.socketaccesstoken);
    $("task").scrollIntoView({ block: "nearest", behavior: "smooth" });
  } else {
    showFinal(task);
  }
}

function stopTimers() {
  clearInterval(state.tick);
  clearInterval(state.poll);
  state.tick = state.poll = null;
}

function onFrame(frame) {
  const task = state.task;
  if (!task || frame.tasktoken !== task.token) return;
  if (frame.type === "task_error") {
    task.error = typeof frame.message === "string" ? frame.message : "The task failed.";
    return;
  }
  if (frame.type === "task_output" && frame.message && typeof frame.message === "object") {
    const m = frame.message;
    setProgress(Number(m.percentage) || 0, m);
  }
  setStatus(frame.type);
  if (FINAL.has(frame.type)) finish();
}

function onSocketDown() {
  // Lost the socket: follow the task by polling Task/Detail instead.
  if (!state.task || FINAL.has(state.task.status) || state.poll) return;
  const id = state.task.id;
  state.poll = setInterval(async () => {
    try {
      const task = await state.api.detail(id);
      if (!state.task || state.task.id !== id) return;
      if (task.progress && task.status === "task_output") {
        setProgress(Number(task.progress.percentage) || 0, task.progress);
      }
      setStatus(task.status);
      if (FINAL.has(task.status)) finish();
    } catch {
      /* keep trying: the server may be restarting */
    }
  }, 1000);
}

async function finish() {
  const id = state.task.id;
  stopTimers();
  try {
    const task = await state.api.detail(id);
    if (state.task && state.task.id === id) showFinal(task);
  } catch (error) {
    showError($("task-error"), `Could not read the finished task: ${error.message}`);
  }
  refreshHistory();
}

function showFinal(task) {
  setStatus(task.status);
  const failed = task.status === "task_postprocess_end" && task.pexit !== "0";
  markFinalTimeline(task, failed);
  $("elapsed").textContent = seconds(Number(task.elapsedseconds) || 0);
  $("remaining").textContent = "0s";
  if (task.status === "task_cancel") {
    setState("cancelled", "Cancelled");
    announce(`Task ${task.id} was cancelled.`);
  } else if (failed) {
    const reason = task.debugerror || state.task.error || "The task failed.";
    setState("failed", "Failed");
    showError($("task-error"), `The task failed: ${reason}`);
  } else {
    setState("done", "Done");
    setProgress(100, null);
    announce(`Task ${task.id} is done: the video is ready.`);
  }
  const output = (task.outputs || [])[0];
  if (output) showVideo(output);
  const deleted = !output && !failed && task.status !== "task_cancel";
  $("task-note").hidden = !deleted;
  $("task-note").textContent = deleted ? "This task's photo and video have been deleted." : "";
  const plan = (task.debugoutput || "").trim();
  $("plan").textContent = plan;
  $("plan-box").hidden = !plan;
}

function showVideo(output) {
  const video = $("video");
  video.src = output.url;
  $("download").href = output.url;
  $("download").setAttribute("download", `task-${state.task.id}.mp4`);
  $("duration").textContent = "";
  video.addEventListener("loadedmetadata", () => {
    $("duration").textContent = `${video.duration.toFixed(1)} s, ` +
      `${video.videoWidth}×${video.videoHeight}, ${(Number(output.size) / 1e6).toFixed(1)} MB`;
  }, { once: true });
  $("result").hidden = false;
}

// -- the progress panel ---------------------------------------------------------------------------

function buildTimeline() {
  $("timeline").replaceChildren(...STATUSES.map(([status, label]) => step(status, label)));
}

function setStatus(status) {
  const task = state.task;
  if (!task || !status || (status === task.status && status !== "task_output")) return;
  if (RANK.has(status)) {
    if (task.status && RANK.get(status) < (RANK.get(task.status) ?? -1)) return;
    markTimeline(status);
  }
  if (task.status !== status) {
    const label = status === "task_cancel" ? "Cancelled" : labelOf(status);
    if (!FINAL.has(status)) setState("running", label);
    announce(`Task ${task.id}: ${label}.`);
  }
  task.status = status;
  $("cancel").disabled = !CANCELLABLE.has(status);
  $("kill").disabled = FINAL.has(status);
  $("task-actions").hidden = FINAL.has(status);
}

/** While a task runs: the statuses before `status` are done, `status` is current. */
function markTimeline(status) {
  const rank = RANK.get(status);
  for (const li of $("timeline").children) {
    const r = RANK.get(li.dataset.status);
    const done = r < rank || (r === rank && FINAL.has(status));
    setStep(li, done ? "done" : r === rank ? "current" : "todo");
  }
}

// When each status was reached, as Task/Detail tells it: a finished task's timeline shows the
// steps it really took (a photo refused at the check never reached "Generating").
const TIME_OF = {
  task_queue: "createtime",
  task_accept: "accepttime",
  task_preprocess_start: "preprocessstarttime",
  task_preprocess_end: "preprocessendtime",
  task_assign: "assigntime",
  task_start: "starttime",
  task_output_full: "endtime",
  task_end: "endtime",
  task_postprocess_start: "postprocessstarttime",
  task_postprocess_end: "postprocessendtime",
};

function reached(task, status) {
  if (status === "task_output") return Boolean(task.progress) || reached(task, "task_end");
  const value = task[TIME_OF[status]];
  return Boolean(value) && value !== "0";
}

/** A final task: each step done or not reached, and how it ended. */
function markFinalTimeline(task, failed) {
  buildTimeline();
  for (const li of $("timeline").children) {
    setStep(li, reached(task, li.dataset.status) ? "done" : "skipped");
  }
  const last = $("timeline").lastElementChild;
  if (failed) {
    setStep(last, "failed");
    last.querySelector(".name").textContent = "Failed";
  }
  if (task.status === "task_cancel") {
    $("timeline").append(step("task_cancel", "Cancelled", "cancel"));
  }
}

function setStep(li, kind) {
  li.className = kind;
  if (kind === "current") li.setAttribute("aria-current", "step");
  else li.removeAttribute("aria-current");
  li.querySelector(".sr-only").textContent = STEP_TEXT[kind];
}

const STEP_TEXT = {
  done: "(done)", current: "(now)", todo: "", skipped: "(not reached)", failed: "(failed)",
  cancel: "",
};

function step(status, label, kind = "todo") {
  const li = document.createElement("li");
  li.dataset.status = status;
  li.innerHTML = '<span class="dot" aria-hidden="true"></span><span class="text">' +
    '<span class="name"></span> <span class="sr-only"></span><code></code></span>';
  li.querySelector(".name").textContent = label;
  li.querySelector("code").textContent = status;
  setStep(li, kind);
  return li;
}

function labelOf(status) {
  const found = STATUSES.find(([s]) => s === status);
  return found ? found[1] : status;
}

function setState(kind, text) {
  const pill = $("task-state");
  pill.className = `pill ${kind}`;
  pill.textContent = text;
}

function setProgress(percentage, message) {
  const pct = Math.max(0, Math.min(100, Math.round(percentage)));
  // Screen readers hear every quarter, not every frame.
  const quarter = Math.floor(pct / 25);
  if (message && state.task && quarter > (state.task.quarter || 0) && pct < 100) {
    state.task.quarter = quarter;
    announce(`Task ${state.task.id}: ${pct}% made.`);
  }
  $("progress").value = pct;
  $("percent").textContent = `${pct}%`;
  if (message) {
    if (message.remainingTime) $("remaining").textContent = message.remainingTime;
    if (message.stepCurrent && message.stepTotal) {
      $("progress").setAttribute("aria-valuetext",
        `${pct}%: frame ${message.stepCurrent} of ${message.stepTotal}`);
    }
  }
}

let lastAnnounced = "";
function announce(text) {
  if (text === lastAnnounced) return;
  lastAnnounced = text;
  $("live").textContent = text;
}

$("kill").addEventListener("click", () => act("kill"));
$("cancel").addEventListener("click", () => act("cancel"));

async function act(how) {
  const task = state.task;
  if (!task) return;
  $(how).disabled = true;
  try {
    const after = await state.api[how](task.id);
    if (state.task && state.task.id === after.id) {
      stopTimers();
      showFinal(after);
    }
    refreshHistory();
  } catch (error) {
    showError($("task-error"), error.message);
    $(how).disabled = false;
  }
}

// -- history --------------------------------------------------------------------------------------

async function refreshHistory() {
  if (!state.api) return;
  try {
    const { tasklist } = await state.api.list(12);
    renderHistory($("history-list"), tasklist, { open, rerun, remove });
    $("history-empty").hidden = tasklist.length > 0;
  } catch (error) {
    $("history-empty").hidden = false;
    $("history-empty").textContent = `Could not list tasks: ${error.message}`;
  }
}

$("refresh").addEventListener("click", refreshHistory);

function open(task) {
  follow(task, { live: !FINAL.has(task.status) });
  $("task-title").focus({ preventScroll: true });
  $("task").scrollIntoView({ block: "start", behavior: "smooth" });
}

async function rerun(task) {
  const params = task.parameters || {};
  const prompt = params.prompt || "";
  const seed = params.seed || "";
  $("prompt").value = prompt || state.defaultPrompt;
  $("seed").value = seed;
  updateCount();
  const file = state.uploads.get(String(task.id));
  const url = params.inputImageFirstUrl;
  if (url) {
    $("image-url").value = url;
    chooseUrl(url);
    await submit({ image: { url }, prompt, seed });
  } else if (file) {
    chooseFile(file);
    await submit({ image: { file }, prompt, seed });
  } else {
    // The server keeps no copy a browser may read: ask for the photo again.
    showError($("run-error"), `Task #${task.id} used an uploaded photo (${params.inputImageFirst ||
      "a file"}). Choose it again, then press “Make the video”; its prompt and seed are filled in.`);
    $("create").scrollIntoView({ block: "start", behavior: "smooth" });
    $("file").focus();
  }
}

async function remove(task) {
  await state.api.deleteIO(task.id);
  if (state.task && state.task.id === String(task.id)) {
    $("result").hidden = true;
    $("video").removeAttribute("src");
  }
  await refreshHistory();
}

// -- helpers --------------------------------------------------------------------------------------

function showError(element, message) {
  element.textContent = message || "";
  element.hidden = !message;
}

function seconds(value) {
  const s = Math.max(0, Math.round(value));
  return s < 60 ? `${s}s` : `${Math.floor(s / 60)}m ${String(s % 60).padStart(2, "0")}s`;
}

start();
