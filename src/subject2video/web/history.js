// This project's tasks (Task/List): a thumbnail, the status and prompt, and Open, Re-run, Delete.
// Thumbnails are the videos themselves, loaded as metadata only and shown at 1 s (a media
// fragment), so the server makes no thumbnails.

import { FINAL } from "./api.js";

const CONFIRM_MS = 4000;
/** Task id → when its armed Delete button (pressed once) disarms, across re-renders. */
const armed = new Map();

/** Replace the items of `list` with one per task; `actions` has open, rerun and remove. */
export function renderHistory(list, tasks, actions) {
  // Keep the thumbnails already loaded: a refresh must not blank and reload every video.
  const loaded = new Map([...list.querySelectorAll("video.thumb")].map((v) => [v.src, v]));
  list.replaceChildren(...tasks.map((task) => item(task, actions, loaded)));
}

function item(task, actions, loaded) {
  const li = document.createElement("li");
  li.className = "history-item";
  li.dataset.taskid = task.id;
  li.dataset.status = task.status;
  const output = (task.outputs || [])[0];
  li.append(
    thumbnail(task, output, loaded), details(task, output), buttons(task, output, actions));
  return li;
}

function thumbnail(task, output, loaded) {
  if (output) {
    const src = new URL(`${output.url}#t=1`, location.href).href;
    if (loaded.has(src)) return loaded.get(src);
    const video = document.createElement("video");
    video.className = "thumb";
    video.muted = true;
    video.preload = "metadata";
    video.src = src;
    video.setAttribute("aria-hidden", "true");
    video.tabIndex = -1;
    return video;
  }
  const box = document.createElement("div");
  box.className = "thumb empty";
  box.setAttribute("aria-hidden", "true");
  box.textContent = outcome(task).short;
  return box;
}

function details(task, output) {
  const div = document.createElement("div");
  div.className = "info";
  const title = document.createElement("p");
  title.className = "title";
  const strong = document.createElement("strong");
  strong.textContent = `#${task.id}`;
  const pill = document.createElement("span");
  const { kind, label } = outcome(task);
  pill.className = `pill ${kind}`;
  pill.textContent = output || kind !== "done" ? label : "Video deleted";
  title.append(strong, " ", pill);
  const prompt = document.createElement("p");
  prompt.className = "prompt";
  const text = (task.parameters || {}).prompt || "(the model's default prompt)";
  prompt.textContent = text.length > 140 ? `${text.slice(0, 140)}…` : text;
  prompt.title = text;
  const when = document.createElement("p");
  when.className = "hint";
  const created = new Date(Number(task.createtime) * 1000);
  when.textContent = created.toLocaleString();
  div.append(title, prompt, when);
  if (task.debugerror && kind === "failed") {
    const reason = document.createElement("p");
    reason.className = "reason";
    reason.textContent = task.debugerror;
    div.append(reason);
  }
  return div;
}

function buttons(task, output, actions) {
  const div = document.createElement("div");
  div.className = "item-actions";
  const label = `task #${task.id}`;
  div.append(
    button("Open", `Open ${label}`, () => actions.open(task)),
    button("Re-run", `Run ${label} again`, () => actions.rerun(task)),
  );
  if (FINAL.has(task.status)) {
    // Any final task: InputOutputDelete removes the uploaded photo too, and is idempotent.
    const remove = button("Delete", `Delete the photo and video of ${label}`, null);
    remove.classList.add("danger");
    // Two presses: the video cannot be brought back. The first arms the button for a few seconds;
    // a refresh of the list in between (a task ended, a poll) keeps it armed.
    const disarm = () => {
      armed.delete(task.id);
      remove.textContent = "Delete";
    };
    const left = (armed.get(task.id) || 0) - Date.now();
    if (left > 0) {
      remove.textContent = "Confirm delete";
      setTimeout(() => { if (remove.isConnected) disarm(); }, left);
    }
    remove.addEventListener("click", async () => {
      if (!((armed.get(task.id) || 0) > Date.now())) {
        armed.set(task.id, Date.now() + CONFIRM_MS);
        remove.textContent = "Confirm delete";
        setTimeout(() => { if (remove.isConnected) disarm(); }, CONFIRM_MS);
        return;
      }
      armed.delete(task.id);
      remove.disabled = true;
      remove.textContent = "Deleting…";
      try {
        await actions.remove(task);
      } catch (error) {
        remove.textContent = "Delete failed";
        remove.title = error.message;
        remove.disabled = false;
      }
    });
    div.append(remove);
  }
  return div;
}

function button(text, ariaLabel, onClick) {
  const b = document.createElement("button");
  b.type = "button";
  b.className = "secondary small";
  b.textContent = text;
  b.setAttribute("aria-label", ariaLabel);
  if (onClick) b.addEventListener("click", onClick);
  return b;
}

function outcome(task) {
  if (task.status === "task_cancel") return { kind: "cancelled", label: "Cancelled", short: "Cancelled" };
  if (task.status === "task_postprocess_end") {
    return task.pexit === "0"
      ? { kind: "done", label: "Done", short: "Deleted" }
      : { kind: "failed", label: "Failed", short: "Failed" };
  }
  return { kind: "running", label: "Running", short: "…" };
}
