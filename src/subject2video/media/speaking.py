"""What the person says in one video, and how long the video lasts because of it.

`speech_for` turns a prompt's quoted lines (media/voice.py) or an uploaded voice (its phones by
aligning the quoted line as its transcript, or by recognition) into a `Speech`; `frames_for`
applies the length rules:

- a fixed length (Wiro's Run: 6.0 s) stays, and a line too long for it is refused, the error
  naming the parameter that carried the line;
- a length the caller gave is honoured, and the speech must fit in it (the error names the
  length's parameter);
- otherwise the video lasts as long as the speech plus a short rest, rounded up to whole frames,
  within 2-12 s.
"""

from __future__ import annotations

import math

from subject2video.contract import SECONDS
from subject2video.errors import InputError
from subject2video.media.audio import Audio
from subject2video.media.phones import phones_for
from subject2video.media.voice import Speech, check_voice, speak
from subject2video.prompts import read_lines

#: Rest after the last word before the video ends (seconds), where the length follows the speech.
TAIL = 0.4


def speech_for(
    prompt: str,
    voice: str | None = None,
    audio: Audio | None = None,
    *,
    parameter: str = "prompt",
    audio_parameter: str = "audio",
) -> tuple[Speech | None, str]:
    """(speech, a line for debugoutput); (None, "") for a silent video."""
    lines = read_lines(prompt)
    if audio is not None:
        transcript = " ".join(line.text for line in lines) or None
        phones, source, why = phones_for(audio, transcript)
        note = (
            f"speech: uploaded {audio_parameter}, {audio.seconds:.1f} s; phones by {source}"
            if phones
            else f"speech: uploaded {audio_parameter}, {audio.seconds:.1f} s; no phone model "
            f"fits ({why}): the jaw follows the audio's energy"
        )
        text = transcript or (why if source == "recognition" else "")
        return Speech(audio, phones, source, [], text), note
    if not lines:
        if voice:
            check_voice(voice)
        return None, ""
    chosen = check_voice(voice)
    speech = speak(lines, chosen, parameter)
    spoken = sum(line.voiced for line in lines)
    return speech, (
        f"speech: {spoken} line(s) spoken, {len(lines) - spoken} mouthed, voice {chosen.name} "
        f"({chosen.description}); {speech.audio.seconds:.2f} s; {len(speech.phones)} phones "
        "timed by flite"
    )


def frames_for(
    speech: Speech,
    fps: int,
    *,
    fixed: float | None = None,
    given: int | None = None,
    line_parameter: str = "prompt",
    length_parameter: str = "seconds",
) -> int:
    """The video's length in frames for `speech`, by the rules above."""
    need = speech.audio.seconds
    if fixed is not None:
        if need > fixed:
            raise InputError(
                f"the line in {line_parameter} takes {need:.1f} s to say; this Run makes "
                f"{fixed:.1f} s videos: shorten the line",
                parameter=line_parameter,
            )
        return round(fixed * fps)
    if given is not None:
        if need > given:
            raise InputError(
                f"{length_parameter} is {given} s but the line takes {need:.1f} s to say: ask "
                f"for a longer video or shorten the line",
                parameter=length_parameter,
            )
        return given * fps
    if need > SECONDS[1]:
        raise InputError(
            f"the line in {line_parameter} takes {need:.1f} s to say; videos last at most "
            f"{SECONDS[1]} s: shorten it",
            parameter=line_parameter,
        )
    seconds = min(float(SECONDS[1]), max(float(SECONDS[0]), need + TAIL))
    return math.ceil(seconds * fps - 1e-9)
