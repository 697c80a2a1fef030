"""The one pipeline from a photo to an MP4, for the runner (a task) and `s2v generate` alike:
prepare the input (the face, the output size, the photo fitted to an explicit size), then drive
the engine and encode its frames as they come."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from subject2video.contract import AUDIO, DEFAULT_SECONDS, FPS, IMAGE_PARAM, PROMPT, RunInput
from subject2video.engines.base import Engine, GenerationContext, GenerationRequest
from subject2video.errors import EngineError
from subject2video.media.audio import Audio
from subject2video.media.detector import FaceDetector
from subject2video.media.framing import (
    FRAMED_SHARE,
    PUSHED_SHARE,
    fit_to_aspect,
    frame_subject,
)
from subject2video.media.images import LoadedImage
from subject2video.media.speaking import frames_for, speech_for
from subject2video.media.video import Mp4Writer, PipelinedWriter, encoder_threads, output_size
from subject2video.prompts import read_prompt, without_lines


@dataclass(frozen=True)
class Prepared:
    """What the engine is asked for, and the line that says so in the task's log."""

    request: GenerationRequest
    note: str
    #: The framing steps' own lines: the photo fitted to an explicit size, the subject framed.
    framing: str | None = None
    #: The speech's own line (voice, phones, length), when the person speaks.
    speech: str | None = None


def prepare(
    image: LoadedImage,
    run: RunInput,
    detector: FaceDetector,
    *,
    seed: int,
    engine: str,
    parameter: str = IMAGE_PARAM,
    voice_track: Audio | None = None,
    audio_parameter: str = AUDIO.name,
    follow_speech: bool = False,
    framing: str = "subject",
) -> Prepared:
    """The engine's request for a checked photo and a run: the face (its box only: engines that
    need landmarks compute their own), and the output size (the photo's aspect at the run's
    short side, or the run's explicit size with the photo fitted to it around the face).

    A quoted line in the prompt (or `voice_track`) makes the person speak (media/speaking.py):
    a run at the default length keeps it (Wiro's 6.0 s) and refuses a longer line, a length the
    caller gave must hold it, and with `follow_speech` (no length given: `s2v generate` without
    `--seconds`, a dialect without its length field) the video lasts as long as the speech.

    The face is found by MediaPipe's full-range detector (at least 60 px tall, or an ImageError
    with the size found and needed). With `framing="subject"` a face small in the frame is framed
    as a medium close-up from the photo's own pixels (`media.framing.frame_subject`); "photo"
    keeps the photo's framing. `framing` is the server's setting: the run's own `framing` (the
    request's `framing` input) wins over it."""
    framing = run.framing or framing
    face = detector.subject(image.array, parameter=parameter)
    pixels, notes = image.array, []
    if run.size is not None:
        width, height = run.size
        framed = fit_to_aspect(pixels, face, run.size)
        pixels, face = framed.image, framed.face
        notes.append(framed.note)
    else:
        width, height = output_size(image.width, image.height, run.short_side)
    close_up = None
    if framing == "subject":
        pushing = engine == "portrait" and _pushes_in(run.prompt_or_default)
        share = PUSHED_SHARE if pushing else FRAMED_SHARE
        framed = frame_subject(pixels, face, (width, height), share)
        if framed.how == "framed" and pushing:
            # The framing holds still unless the prompt moves the camera: a push-in starts on
            # the photo's wide view and ends on the close-up (engines/portrait/engine.py).
            x0, y0 = face.box[0] - framed.face.box[0], face.box[1] - framed.face.box[1]
            ch, cw = framed.image.shape[:2]
            close_up = (x0, y0, cw, ch)
            notes.append(
                f"framing: the face is {100 * face.height / pixels.shape[0]:.0f}% of the frame "
                "height and the prompt pushes in, so the camera starts on the photo's wide view "
                f"and pushes in to a medium close-up (the photo's {cw}x{ch} at ({x0}, {y0}), "
                f"face {100 * face.height / ch:.0f}% of the height)"
            )
        else:
            pixels, face = framed.image, framed.face
            notes.append(framed.note)
    framing_line = "; ".join(notes) or None
    speech, said = speech_for(
        run.prompt_or_default, run.voice, voice_track, audio_parameter=audio_parameter
    )
    frames = run.frames
    if speech is not None:
        # Following the speech, the dialect's default length (OpenAI's 4 s) is no bound.
        given = None if follow_speech or run.seconds == DEFAULT_SECONDS else run.seconds
        fixed = None if follow_speech or given is not None else float(DEFAULT_SECONDS)
        carrier = audio_parameter if voice_track is not None else PROMPT.name
        frames = frames_for(speech, FPS, fixed=fixed, given=given, line_parameter=carrier)
        if engine != "portrait":
            said += (
                f"; the voice track is muxed in; the {engine} engine does not move the lips "
                "to it (no lip-sync claimed)"
            )
    note = (
        f"input {image.format} {image.width}x{image.height}; face at {list(face.box)}; "
        f"output {width}x{height} {frames} frames ({frames / FPS:g} s) at {FPS} fps; "
        f"seed {seed}; engine {engine}"
    )
    request = GenerationRequest(
        image=pixels,
        face=face,
        prompt=run.prompt_or_default,
        seed=seed,
        width=width,
        height=height,
        fps=FPS,
        frames=frames,
        speech=speech,
        close_up=close_up,
    )
    return Prepared(request, note, framing_line, said or None)


def _pushes_in(prompt: str) -> bool:
    """Whether the prompt names a push-in (words or a `[Push in]` directive)."""
    return any(m.kind == "push_in" for m in read_prompt(without_lines(prompt)))


def render(
    engine: Engine,
    request: GenerationRequest,
    context: GenerationContext,
    path: Path,
    *,
    each_frame: Callable[[], None] | None = None,
) -> int:
    """Drive the engine and encode its frames into `path` as they come; `each_frame` runs before
    each is written (a cancel check). EngineError unless it made exactly the frames asked for."""
    count = 0
    audio = request.speech.audio if request.speech is not None else None
    # The encoder runs in its own thread, overlapping the engine's next frame; beside an engine
    # that works on the CPU, it leaves that engine a core.
    threads = encoder_threads(beside_engine=not getattr(engine, "uses_gpu", False))
    mp4 = Mp4Writer(path, request.width, request.height, request.fps, threads=threads, audio=audio)
    with PipelinedWriter(mp4) as writer:
        for frame in engine.frames(request, context):
            if each_frame is not None:
                each_frame()
            writer.write(frame)
            count += 1
    if count != request.frames:
        raise EngineError(f"the {engine.name} engine made {count} frames, not {request.frames}")
    return count
