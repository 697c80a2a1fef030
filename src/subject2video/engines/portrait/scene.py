"""The scene words a CPU can honour: light and colour, focus, and the camera's depth.

Read from the prompt, each listed in `debugoutput` as honoured or not (`Scene.describe`):

- **light and colour** (golden, sunset, warm, moody, cold, black-and-white, vintage): a grade,
  one lookup table per channel and a saturation change, given once to the photo's pixels (the
  subject and the plate) and to the palettes that paint the mouth and lids, not to every frame;
  a colour temperature, a tone and black-and-white combine ("a moody black-and-white", "vintage
  golden light"), read in the prompt's order: a word that clashes with one before it (cold
  after golden) is listed as not honoured;
- **focus** (shallow depth of field, bokeh, blurred background): the background plate blurred
  once, so everything behind the subject's matte is out of focus;
- **lens and camera** (close-up, wide, push in, pull out, pan, orbit): the camera moves as two
  layers, the subject over the background inpainted behind it, the background moving less
  (parallax), so that a move shows depth. "Wide" deepens the parallax, "orbit" adds a slow arc,
  "close-up" holds the camera in.

Words the CPU cannot honour (places, weather, other people, palm trees) are left to the prompt
reader's own notes. A prompt without these words gives the same video as before.

Example::

    scene = read_scene("golden light, shallow depth of field, slow push in")
    scene.grade, scene.shallow, scene.parallax  # ("golden", True, 0.5)
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import cv2
import numpy as np

#: Grades: per-channel gain (R, G, B), gamma, lift (black level, 0-1), and saturation.
GRADES: dict[str, tuple[tuple[float, float, float], float, float, float]] = {
    "golden": ((1.10, 1.00, 0.80), 0.95, 0.02, 1.10),
    "sunset": ((1.15, 0.95, 0.75), 1.00, 0.02, 1.15),
    "moody": ((0.95, 0.95, 1.00), 1.25, 0.00, 0.75),
    "cold": ((0.88, 0.98, 1.12), 1.00, 0.00, 0.90),
    "black-and-white": ((1.00, 1.00, 1.00), 1.00, 0.00, 0.00),
    "vintage": ((1.06, 1.00, 0.85), 0.95, 0.08, 0.65),
}
#: Grade families: at most one colour temperature and one tone in a video.
TEMPERATURE = ("golden", "sunset", "cold")
WARM = ("golden", "sunset")
TONE = ("moody", "vintage")
_GRADE_WORDS = [
    (r"\bgolden\b|\bgolden hour\b|\bwarm (?:light|tones?|glow)\b|\bsun-?drenched\b", "golden"),
    (r"\bsunset\b|\bdusk\b", "sunset"),
    (r"\bmoody\b|\bdark and\b|\bnoir\b", "moody"),
    (r"\bcold\b|\bcool (?:light|tones?)\b|\bblue light\b|\bwintry\b", "cold"),
    (r"\bblack[- ]and[- ]white\b|\bmonochrome\b|\bgr[ae]yscale\b|\bb&w\b", "black-and-white"),
    (r"\bvintage\b|\bretro\b|\bfaded film\b|\bsepia\b", "vintage"),
]
_SHALLOW = r"\bshallow depth of field\b|\bshallow focus\b|\bbokeh\b|\bblurr?(?:ed|y) background\b"
_LENS = [
    (r"\bclose-?up\b", "close-up"),
    (r"\bwide(?:-| )angle\b|\bwide shot\b|\bwide lens\b", "wide"),
    (r"\borbit(?:s|ing)?\b|\bcircles? (?:around|the)\b", "orbit"),
    (r"\bpush(?:es|ing)? in\b|\bdolly in\b|\bzoom(?:s|ing)? in\b", "push in"),
    (r"\bpull(?:s|ing)? (?:out|back)\b|\bdolly out\b|\bzoom(?:s|ing)? out\b", "pull out"),
    (r"\bpan(?:s|ning)?\b", "pan"),
]
#: The background moves this share of the subject's camera move (1 would be a flat picture).
PARALLAX = 0.5
#: With a wide-angle lens named, the background moves this share instead (more depth).
PARALLAX_WIDE = 0.3


@dataclass(frozen=True)
class Scene:
    """What the prompt asks of the scene, and what the engine makes of it."""

    grade: str | None = None
    shallow: bool = False
    lens: tuple[str, ...] = ()
    #: The background's share of the camera's move (None: one layer, the camera moves both).
    parallax: float | None = None
    #: (word as read, honoured, how) for debugoutput.
    words: list[tuple[str, bool, str]] = field(default_factory=list)

    def describe(self) -> str:
        if not self.words:
            return "scene: no light, colour, focus or lens words read"
        parts = [
            f"{word}: {'honoured' if ok else 'NOT honoured'} ({how})"
            for word, ok, how in self.words
        ]
        return "scene: " + "; ".join(parts)


def read_scene(prompt: str, camera_moves: bool = False) -> Scene:
    """The scene words in `prompt`; `camera_moves` says whether the motion plan moves the camera
    (a walk forward, a push, a pan), which the parallax then splits into two layers."""
    text = prompt.lower()
    grades, words = _read_grades(text)
    grade = "+".join(grades) or None
    shallow = bool(re.search(_SHALLOW, text))
    if shallow:
        words.append(("shallow depth of field", True, "the background behind the matte blurred"))
    lens = tuple(name for pattern, name in _LENS if re.search(pattern, text))
    parallax = None
    if camera_moves or "orbit" in lens:
        parallax = PARALLAX_WIDE if "wide" in lens else PARALLAX
    for name in lens:
        if name == "wide":
            how = (
                f"deeper parallax, background at {parallax:.0%} of the camera's move"
                if parallax is not None
                else "a photo's lens cannot be changed and no camera move was asked"
            )
            words.append((name, parallax is not None, how))
        elif name == "close-up":
            words.append((name, True, "the camera held in at 1.15x"))
        elif name == "orbit":
            words.append((name, True, "a slow arc, two-layer parallax"))
        else:
            words.append((name, parallax is not None, "two-layer parallax on the camera move"))
    named = any(n in lens for n in ("push in", "pull out", "pan", "orbit"))
    if parallax is not None and not named:
        words.append(("camera move", True, f"two-layer parallax, background {parallax:.0%}"))
    return Scene(grade, shallow, lens, parallax, words)


def _read_grades(text: str) -> tuple[list[str], list[tuple[str, bool, str]]]:
    """The grades the prompt names, in the prompt's order, and how each word was taken. One
    colour temperature (warm or cold: "golden" and "sunset" are one warm grade together) and one
    tone (moody or vintage), with or without black-and-white, which leaves no colour to warm or
    cool: a moody black-and-white is both, a golden black-and-white only the first named."""
    found = sorted(
        (hit.start(), hit.group(0), name)
        for pattern, name in _GRADE_WORDS
        for hit in re.finditer(pattern, text)
    )
    grades: list[str] = []
    words: list[tuple[str, bool, str]] = []
    refused: set[str] = set()
    for _, word, name in found:
        if name in grades:
            if not any(w == word for w, _, _ in words):
                words.append((word, True, f"{name} grade"))
            continue
        if name in refused:
            continue  # "cold blue light": one refusal is enough
        clash = _clash(name, grades)
        if clash is None:
            with_ = f", with {' and '.join(grades)}" if grades else ""
            grades.append(name)
            words.append((word, True, f"{name} grade{with_}"))
        else:
            words.append((word, clash[0], clash[1]))
            refused.add(name)
    return grades, words


def _clash(name: str, grades: list[str]) -> tuple[bool, str] | None:
    """None where grade `name` goes with those already read; else whether it is honoured anyway
    (a second warm word, by the warm grade read) and how."""
    for held in grades:
        if name in WARM and held in WARM:
            return True, f"one warm grade: {held}"
        if name in TEMPERATURE and held in TEMPERATURE:
            return False, f"{held} came first; warm and cold cannot both hold"
        if name in TONE and held in TONE:
            return False, f"one tone; {held} came first"
        if "black-and-white" in (name, held) and (name in TEMPERATURE or held in TEMPERATURE):
            return (
                False,
                f"{held} came first; a black-and-white frame has no colour to warm or cool",
            )
    return None


def _curve(name: str, channel: int, x: np.ndarray) -> np.ndarray:
    """One grade's curve for one channel, on values in 0-1."""
    gains, gamma, lift, _ = GRADES[name]
    return lift + (1 - lift) * np.clip(gains[channel] * x, 0, 1) ** gamma


def grade_tables(name: str) -> tuple[np.ndarray, float]:
    """The (256, 1, 3) lookup table and the saturation of a grade, or of grades joined by "+"
    (`read_scene`'s "moody+black-and-white"): their curves one after the other, their
    saturations multiplied."""
    names = name.split("+")
    unknown = [n for n in names if n not in GRADES]
    if unknown:
        raise ValueError(f"unknown grade {unknown[0]!r}; grades: {', '.join(GRADES)}")
    x = np.linspace(0.0, 1.0, 256)
    table = np.empty((256, 1, 3), np.uint8)
    for c in range(3):
        y = x
        for one in names:
            y = _curve(one, c, y)
        table[:, 0, c] = np.clip(np.round(y * 255), 0, 255).astype(np.uint8)
    return table, float(np.prod([GRADES[n][3] for n in names]))


class Grader:
    """Applies one grade to RGB frames (a few ms a frame at 720p)."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.table, self.saturation = grade_tables(name)

    def __call__(self, frame: np.ndarray) -> np.ndarray:
        out = frame
        if self.saturation != 1.0:
            grey = cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY)
            grey3 = cv2.cvtColor(grey, cv2.COLOR_GRAY2RGB)
            out = cv2.addWeighted(frame, self.saturation, grey3, 1 - self.saturation, 0)
        return cv2.LUT(out, self.table)

    def colour(self, rgb: np.ndarray | tuple[float, ...]) -> np.ndarray:
        """One RGB colour (floats, 0-255) graded, as floats: a palette graded as the pixels are."""
        pixel = np.clip(np.round(np.asarray(rgb, np.float64)[:3]), 0, 255).astype(np.uint8)
        return self(pixel.reshape(1, 1, 3)).reshape(3).astype(np.float64)


#: A defocus this wide (sigma, px) or wider is blurred at half size and enlarged: within a few
#: grey levels of the whole blur (at most 9, 0.3 on average at this sigma, less beyond it), at a
#: fifth of its cost (9 against 49 ms for a 720x844 plate at sigma 15).
HALF_SIZE_SIGMA = 6.0


def defocus(plate: np.ndarray, face_height: float) -> np.ndarray:
    """The background plate out of focus: a Gaussian blur of a twentieth of the face height."""
    sigma = max(2.0, 0.05 * face_height)
    if sigma < HALF_SIZE_SIGMA:
        return cv2.GaussianBlur(plate, (0, 0), sigma)
    h, w = plate.shape[:2]
    small = cv2.resize(plate, ((w + 1) // 2, (h + 1) // 2), interpolation=cv2.INTER_AREA)
    small = cv2.GaussianBlur(small, (0, 0), sigma / 2)
    return cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR)
