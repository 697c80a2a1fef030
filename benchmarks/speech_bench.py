"""A 6 s portrait video speaking a TTS line against the same video silent (target: at most 1.5x),
TTS, phone timings and AAC counted; the same for an uploaded recording of that line without its
transcript (its phones found by recognition, reported); and the lip-sync figures of each voice on
both faces.

Run: `.venv/bin/python benchmarks/speech_bench.py` (one run; prints markdown for README).
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from _faces import FACES

from subject2video.engines.base import GenerationRequest, NullContext
from subject2video.engines.portrait.engine import PortraitEngine
from subject2video.media.audio import Audio
from subject2video.media.faces import get_analyzer
from subject2video.media.speaking import speech_for
from subject2video.media.video import Mp4Writer, output_size, read_audio, read_frames
from subject2video.quality.speech import EVAL_LINES, intelligibility, score_video
from subject2video.quality.track import SPEECH_DETECT_EVERY, track

PROMPT = "She smiles and nods"


def render(
    image, face, prompt: str, out: Path, voice: str | None, audio: Audio | None = None
) -> tuple[float, object]:
    """Seconds to make one 6 s video (speech, timings, frames, encode, AAC), and its speech."""
    mark = time.perf_counter()
    speech, _ = speech_for(prompt, voice, audio)
    w, h = output_size(image.shape[1], image.shape[0])
    request = GenerationRequest(image, face, prompt, 1, w, h, 25, 150, speech=speech)
    audio = speech.audio if speech is not None else None
    with Mp4Writer(out, w, h, 25, audio=audio) as writer:
        for frame in PortraitEngine().frames(request, NullContext()):
            writer.write(frame)
    return time.perf_counter() - mark, speech


def main() -> None:
    analyzer = get_analyzer()
    tmp = Path(tempfile.mkdtemp())
    image = FACES["astronaut"]()
    face = analyzer.subject(image, landmarks=False)
    line = f'{PROMPT} and says "{EVAL_LINES[0]}"'
    render(image, face, PROMPT, tmp / "warm.mp4", None)
    # The recording: the same line in the same voice, uploaded with no quoted line to align.
    spoken, _ = speech_for(line, "female")
    assert spoken is not None
    recording = spoken.audio
    # Alternated, best of three each: the shared machine's load swings more than the factor.
    silent = speaking = uploaded = float("inf")
    for _ in range(3):
        silent = min(silent, render(image, face, PROMPT, tmp / "silent.mp4", None)[0])
        speaking = min(speaking, render(image, face, line, tmp / "speaking.mp4", "female")[0])
        took, heard = render(image, face, PROMPT, tmp / "upload.mp4", None, recording)
        uploaded = min(uploaded, took)
    print("| 6 s video, astronaut, best of 3 | seconds | against silent |\n|---|---|---|")
    print(f"| silent | {silent:.2f} | 1.00x |")
    print(f"| speaking a line (flite, timings, AAC) | {speaking:.2f} | {speaking / silent:.2f}x |")
    print(
        f"| an uploaded recording of the line, phones by {heard.source} | {uploaded:.2f} | "
        f"{uploaded / silent:.2f}x |\n"
    )
    print("| face | voice | line | lip-sync r (lag) | closures | word accuracy |")
    print("|---|---|---|---|---|---|")
    for name, make in FACES.items():
        image = make()
        face = analyzer.subject(image, landmarks=False)
        for voice in ("female", "male", "scottish"):
            for index in (2, 10):
                out = tmp / f"{name}-{voice}-{index}.mp4"
                _, speech = render(image, face, f'She says "{EVAL_LINES[index]}"', out, voice)
                tr = track(read_frames(out), analyzer, detect_every=SPEECH_DETECT_EVERY)
                score = score_video(tr.landmarks, read_audio(out), speech.phones, 25)
                acc, _ = intelligibility(speech.audio, EVAL_LINES[index])
                print(
                    f"| {name} | {voice} | {index} | {score.r:.2f} ({score.lag:+d}) | "
                    f"{score.closed}/{score.bilabials} | {100 * acc:.0f}% |"
                )


if __name__ == "__main__":
    main()
