"""The voices compared: pocketsphinx word accuracy and synthesis time over the evaluation lines.

Run: `.venv/bin/python benchmarks/voice_bench.py` (flite and espeak-ng installed). Prints a
markdown table; README ("Speech") holds a run.
"""

from __future__ import annotations

import subprocess
import tempfile
import time
from pathlib import Path

from subject2video.media.audio import read_wav
from subject2video.media.voice import VOICES, speak
from subject2video.prompts import Line
from subject2video.quality.speech import EVAL_LINES, intelligibility


def espeak(text: str, voice: str) -> bytes:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "e.wav"
        subprocess.run(["espeak-ng", "-v", voice, "-w", str(out), text], check=True)
        return out.read_bytes()


def main() -> None:
    rows = []
    for name in VOICES:
        acc, took, length = [], 0.0, 0.0
        for text in EVAL_LINES:
            mark = time.perf_counter()
            speech = speak([Line(text, "say", (0, 0))], name)
            took += time.perf_counter() - mark
            length += speech.audio.seconds
            acc.append(intelligibility(speech.audio, text)[0])
        rows.append((f"flite {VOICES[name].flite} ({name})", sum(acc) / len(acc), took, length))
    for voice in ("en-us+f3", "en-us+m3"):
        acc, took, length = [], 0.0, 0.0
        for text in EVAL_LINES:
            mark = time.perf_counter()
            audio = read_wav(espeak(text, voice))
            took += time.perf_counter() - mark
            length += audio.seconds
            acc.append(intelligibility(audio, text)[0])
        rows.append((f"espeak-ng {voice}", sum(acc) / len(acc), took, length))
    print(f"{len(EVAL_LINES)} lines of 8-11 words; word accuracy by pocketsphinx 5 (en-us)\n")
    print("| voice | word accuracy | synthesis, all lines | speech length |")
    print("|---|---|---|---|")
    for name, acc, took, length in rows:
        print(f"| {name} | {100 * acc:.0f}% | {took:.2f} s | {length:.1f} s |")


if __name__ == "__main__":
    main()
