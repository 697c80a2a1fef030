"""The playground in headless Chromium, against a real server: the path a person takes.

Sign in from the URL `s2v serve` printed, upload the sample face (marked on the preview), submit,
watch the progress move, play the 6 s result and read its motion plan; kill a second task; see a
photo without a face fail with its reason; manage the history; the same page at phone width.
Screenshots go to artifacts/screenshots/ (git-ignored).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from subject2video.contract import IMAGE_FORMATS, MAX_PROMPT, VOICES
from tests.utils.images import cat_jpeg
from tests.utils.server import REPO, Server, fixture_server, send

pytestmark = pytest.mark.slow

FACE = REPO / "examples" / "face.jpg"
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 375, "height": 812}


@pytest.fixture(scope="module")
def page(browser: Any, playground: tuple[Server, str]) -> Iterator[Any]:
    context = browser.new_context(viewport=DESKTOP)
    page = context.new_page()
    page.set_default_timeout(20_000)
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.errors = errors
    yield page
    context.close()


def _until(page: Any, expression: str, timeout: float = 20) -> None:
    """Wait until a JS expression is true. (wait_for_function evals a string, which the page's
    Content-Security-Policy rightly forbids; evaluate runs a function, which it allows.)"""
    deadline = time.monotonic() + timeout
    while not page.evaluate(f"() => Boolean({expression})"):
        if time.monotonic() > deadline:
            raise AssertionError(f"not true after {timeout}s: {expression}")
        time.sleep(0.05)


def _no_page_errors(page: Any) -> None:
    assert page.errors == [], page.errors


def test_sign_in_from_the_printed_url(page: Any, playground: tuple[Server, str]) -> None:
    _server, url = playground
    assert "#key=" in url and "&secret=" in url
    page.goto(url)
    page.wait_for_selector("#app:not([hidden])")
    # The credentials moved to session storage and left the address bar.
    assert "#" not in page.url and "secret" not in page.url
    stored = page.evaluate("sessionStorage.getItem('s2v.credentials')")
    assert url.split("key=")[1].split("&")[0] in stored
    # The model's default prompt is filled in, with its length counted.
    prompt = page.input_value("#prompt")
    assert prompt.startswith("A cinematic")
    assert page.text_content("#prompt-count") == f"{len(prompt)} / {MAX_PROMPT} characters"
    # The form's limits and choices are Tool/Detail's (the contract's), not the page's own.
    assert page.get_attribute("#prompt", "maxlength") == str(MAX_PROMPT)
    accepted = page.get_attribute("#file", "accept") or ""
    assert accepted.split(",") == [f"image/{f}" for f in IMAGE_FORMATS]
    assert page.text_content("#photo-formats") == ", ".join(f.upper() for f in IMAGE_FORMATS)
    options = page.eval_on_selector_all("#voice option", "os => os.map(o => o.value)")
    assert options == list(VOICES) and page.input_value("#voice") == VOICES[0]
    _no_page_errors(page)


def test_browser_fallback_signature_matches_the_server(page: Any) -> None:
    """Plain http on a LAN address has no WebCrypto: the pure-JS HMAC must agree with it."""
    key, message = "k" * 70, "secret1712345678901é"
    both = page.evaluate(
        """async ([key, message]) => {
            const m = await import('/web/hmac.js');
            return [await m.hmacSha256Hex(key, message), m.hmacSha256HexFallback(key, message)];
        }""",
        [key, message],
    )
    expected = hmac.new(key.encode(), message.encode(), hashlib.sha256).hexdigest()
    assert both == [expected, expected]


def test_inputs_are_labelled(page: Any) -> None:
    unlabelled = page.evaluate(
        """() => [...document.querySelectorAll('input, textarea, select, button')]
            .filter((el) => !el.closest('[hidden]'))
            .filter((el) => !(el.labels && el.labels.length) && !el.getAttribute('aria-label')
                           && !el.textContent.trim())
            .map((el) => el.id || el.outerHTML)"""
    )
    assert unlabelled == []


def test_keyboard_reaches_the_submit_button(page: Any) -> None:
    page.focus("#prompt")
    for field in ("say", "voice", "audio-url", "seed"):  # the speech fields, then the seed
        page.keyboard.press("Tab")
        assert page.evaluate("() => document.activeElement.id") == field
    page.keyboard.press("Tab")
    assert page.evaluate("() => document.activeElement.id") == "submit"
    outline = page.evaluate("() => getComputedStyle(document.activeElement).outlineStyle")
    assert outline == "solid"  # focus is visible


def test_make_a_video(page: Any, screenshots: Path) -> None:
    page.set_input_files("#file", str(FACE))
    page.wait_for_selector("#face-boxes .face.subject")
    assert "Face found" in page.text_content("#face-status")
    page.fill("#prompt", "She smiles and slowly turns her head to the left")
    page.fill("#seed", "7")
    page.click("#submit")

    seen = _watch_progress(page)
    assert len(seen) >= 2 and any(0 < p < 100 for p in seen), seen
    assert seen == sorted(seen), f"progress went backwards: {seen}"
    assert page.text_content("#task-state") == "Done"
    for status in ("task_queue", "task_preprocess_end", "task_start", "task_postprocess_end"):
        assert page.get_attribute(f'#timeline li[data-status="{status}"]', "class") == "done"

    _until(page, "document.querySelector('#video').readyState >= 1")
    duration = page.evaluate("document.querySelector('#video').duration")
    assert duration == pytest.approx(6.0, abs=0.05)
    assert page.get_attribute("#download", "href").endswith("/0.mp4")
    assert "push-in" in page.text_content("#plan")
    page.wait_for_selector('#history-list li[data-status="task_postprocess_end"] video.thumb')
    page.screenshot(path=str(screenshots / "desktop-done.png"), full_page=True)
    _no_page_errors(page)


def _watch_progress(page: Any, timeout: float = 60) -> list[int]:
    """The distinct percentages shown until the task is final."""
    seen: list[int] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        pct = int(page.text_content("#percent").rstrip("%"))
        if not seen or seen[-1] != pct:
            seen.append(pct)
        if page.text_content("#task-state") in ("Done", "Failed", "Cancelled"):
            return seen
        time.sleep(0.05)
    raise AssertionError(f"task not final after {timeout}s; saw {seen}")


def test_kill_a_running_task(page: Any, screenshots: Path) -> None:
    first = page.text_content("#task-id")
    page.click("#submit")
    _until(page, f"document.querySelector('#task-id').textContent !== '{first}'")
    # Running: the engine is making frames.
    _until(page, "parseInt(document.querySelector('#percent').textContent) > 5")
    assert page.is_disabled("#cancel")  # too late to cancel: only a kill stops it now
    page.screenshot(path=str(screenshots / "desktop-running.png"), full_page=True)
    page.click("#kill")
    page.wait_for_selector("#task-state.cancelled")
    assert page.text_content("#task-state") == "Cancelled"
    assert page.is_visible('#timeline li[data-status="task_cancel"]')
    assert page.is_hidden("#result")
    killed = page.text_content("#task-id").lstrip("#")
    page.wait_for_selector(f'#history-list li[data-taskid="{killed}"][data-status="task_cancel"]')
    _no_page_errors(page)


def test_no_face_shows_the_reason(page: Any, screenshots: Path, tmp_path: Path) -> None:
    cat = tmp_path / "cat.jpg"
    cat.write_bytes(cat_jpeg())
    page.set_input_files("#file", str(cat))
    page.wait_for_selector("#face-status.bad")
    assert "No human face" in page.text_content("#face-status")
    assert page.locator("#face-boxes .face").count() == 0
    page.click("#submit")
    page.wait_for_selector("#task-state.failed")
    reason = page.text_content("#task-error")
    assert "human face" in reason and "inputImageFirstUrl" in reason
    assert page.is_visible("#task-error")
    # The timeline shows where it stopped: checked, never generated.
    step = '#timeline li[data-status="{}"]'
    assert page.get_attribute(step.format("task_preprocess_start"), "class") == "done"
    assert page.get_attribute(step.format("task_start"), "class") == "skipped"
    assert page.get_attribute(step.format("task_postprocess_end"), "class") == "failed"
    assert page.is_hidden("#kill")
    page.screenshot(path=str(screenshots / "desktop-failed.png"), full_page=True)
    _no_page_errors(page)


def test_history_open_rerun_delete(page: Any) -> None:
    items = page.locator("#history-list li")
    assert items.count() == 3
    done = page.locator('#history-list li[data-status="task_postprocess_end"]').last
    taskid = done.get_attribute("data-taskid")
    done.get_by_role("button", name=f"Open task #{taskid}").click()
    _until(page, f"document.querySelector('#task-id').textContent === '#{taskid}'")
    _until(page, "document.querySelector('#video').readyState >= 1")

    # Re-run of an upload from this session submits at once with the same photo, prompt and seed.
    done.get_by_role("button", name=f"Run task #{taskid} again").click()
    _until(page, f"document.querySelector('#task-id').textContent !== '#{taskid}'")
    assert page.input_value("#seed") == "7"
    page.wait_for_selector("#task-state.running")
    page.click("#kill")
    page.wait_for_selector("#task-state.cancelled")

    delete = done.get_by_role("button", name=f"Delete the photo and video of task #{taskid}")
    delete.click()
    assert delete.text_content() == "Confirm delete"
    # A refresh of the list in between (a task ended, a poll) re-renders it: still armed.
    item = f'#history-list li[data-taskid="{taskid}"]'
    page.evaluate(f"document.querySelector('{item}').dataset.before = '1'")
    page.click("#refresh")
    _until(page, f"!document.querySelector('{item}').dataset.before")
    assert delete.text_content() == "Confirm delete"
    delete.click()
    page.wait_for_selector(f"{item} .thumb.empty")
    assert "Video deleted" in page.text_content(item)
    assert page.locator("#history-list li").count() == 4
    _no_page_errors(page)


def test_phone_width(browser: Any, playground: tuple[Server, str], screenshots: Path) -> None:
    _server, url = playground
    context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
    page = context.new_page()
    page.set_default_timeout(20_000)
    page.goto(url)
    page.wait_for_selector("#history-list li")
    # A photo dropped on the drop zone, then one given by URL (fetched by the server's guarded
    # fetcher, which the test server allows to reach the fixture host).
    page.evaluate(
        """(b64) => {
            const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
            const data = new DataTransfer();
            data.items.add(new File([bytes], 'dropped.jpg', {type: 'image/jpeg'}));
            document.querySelector('#drop').dispatchEvent(
                new DragEvent('drop', {dataTransfer: data, bubbles: true, cancelable: true}));
        }""",
        base64.b64encode(FACE.read_bytes()).decode(),
    )
    page.wait_for_selector("#face-boxes .face.subject")
    face = FACE.read_bytes()
    with fixture_server({"/face.jpg": lambda h: send(h, 200, face, "image/jpeg")}) as host:
        page.fill("#image-url", f"{host}/face.jpg")
        page.press("#image-url", "Enter")
        _until(page, "!document.querySelector('#face-status').classList.contains('busy')")
        page.wait_for_selector("#face-boxes .face.subject")
        assert page.get_attribute("#preview-img", "src") == f"{host}/face.jpg"
        # Nothing wider than the screen.
        assert page.evaluate("() => document.documentElement.scrollWidth") <= PHONE["width"]
        page.screenshot(path=str(screenshots / "phone-form.png"), full_page=True)
        page.click("#submit")  # the task fetches the photo from the URL
        page.wait_for_selector("#task-state.done", timeout=60_000)
    _until(page, "document.querySelector('#video').readyState >= 1")
    assert page.evaluate("() => document.documentElement.scrollWidth") <= PHONE["width"]
    page.screenshot(path=str(screenshots / "phone-done.png"), full_page=True)
    context.close()
