"""Prompts for Wan VACE: the caller's words, plus a motion phrase when they name no motion.

VACE with a reference image keeps the subject well but moves little unless the prompt says how
(OpenS2V measures 11.8% motion amplitude for VACE-14B), and the VACE community advises descriptive
rather than instructive prompts. So a prompt that names no motion gets one descriptive sentence.
"""

from __future__ import annotations

import re

from subject2video.prompts import read_directives

#: The negative prompt from the Wan2.1 model documentation (diffusers' WanVACEPipeline example).
NEGATIVE_PROMPT = (
    "Bright tones, overexposed, static, blurred details, subtitles, style, works, paintings, "
    "images, static, overall gray, worst quality, low quality, JPEG compression residue, ugly, "
    "incomplete, extra fingers, poorly drawn hands, poorly drawn faces, deformed, disfigured, "
    "misshapen limbs, fused fingers, still picture, messy background, three legs, many people in "
    "the background, walking backwards"
)

MOTION_PHRASE = (
    "The person moves naturally: they turn their head slightly, blink, smile and breathe, "
    "while the camera slowly pushes in."
)

#: Word stems that name a motion of the subject or the camera.
_MOTION_STEMS = (
    "walk", "run", "jump", "danc", "turn", "nod", "shak", "tilt", "wav", "smil", "laugh", "talk",
    "speak", "sing", "blink", "wink", "look", "glanc", "mov", "swing", "sway", "spin", "rotat",
    "lean", "bow", "rais", "lift", "point", "clap", "stroll", "climb", "swim", "fly", "drive",
    "ride", "zoom", "dolly", "push", "pull", "track", "orbit", "breath", "gestur", "reach",
    "throw", "catch", "kiss", "hug", "rise", "drink", "play",
    "cry", "frown", "shrug", "stretch", "kneel", "crouch", "step", "march", "jog", "sprint",
)  # fmt: skip
#: Short motion words that would match too much as stems ("pants", "standard", "site").
_MOTION_WORDS = frozenset(
    ("pan", "pans", "panning", "panned", "sit", "sits", "sitting", "stand", "stands", "standing",
     "eat", "eats", "eating", "fall", "falls", "falling")
)  # fmt: skip
_WORD = re.compile(r"[a-z]+")


def names_motion(prompt: str) -> bool:
    """Whether any word of the prompt starts with a motion stem."""
    words = _WORD.findall(prompt.lower())
    return any(word in _MOTION_WORDS or word.startswith(_MOTION_STEMS) for word in words)


#: MiniMax's bracketed camera instructions (prompts.DIRECTIVES), as descriptive sentences.
CAMERA_PHRASES = {
    "truck_left": "The camera trucks to the left.",
    "truck_right": "The camera trucks to the right.",
    "pan_left": "The camera pans to the left.",
    "pan_right": "The camera pans to the right.",
    "push_in": "The camera pushes in towards the person.",
    "pull_out": "The camera pulls out from the person.",
    "pedestal_up": "The camera rises.",
    "pedestal_down": "The camera lowers.",
    "cam_tilt_up": "The camera tilts up.",
    "cam_tilt_down": "The camera tilts down.",
    "zoom_in": "The camera zooms in.",
    "zoom_out": "The camera zooms out.",
    "cam_shake": "The camera shakes, handheld.",
    "tracking": "The camera tracks the person.",
    "static": "The camera is static.",
}


def describe_directives(prompt: str) -> str:
    """The prompt with its bracketed camera instructions written out as sentences, in order."""
    motions, text = read_directives(prompt)
    if not motions:
        return prompt
    text = " ".join(text.replace(" . ", ". ").split()).strip(" .")
    sentences = " ".join(CAMERA_PHRASES[m.kind] for m in motions)
    return f"{text}. {sentences}" if text else sentences


def build_prompt(prompt: str, *, add_motion: bool = True) -> str:
    """The prompt the model gets: the caller's (camera instructions written out), with the motion
    phrase added where it names none."""
    text = " ".join(describe_directives(prompt).split())
    if not add_motion or names_motion(text):
        return text
    if text and not text.endswith((".", "!", "?")):
        text += "."
    return f"{text} {MOTION_PHRASE}".strip()
