"""Speech measures for `s2v eval`: lip-sync, bilabial closures and intelligibility.

- **lip-sync r**: per frame, the inner-lip gap over the distance between the eye centres, read by
  the independent measurer (dlib's 68 points, not the engine's mesh), correlated (Pearson) with
  the audio's RMS over each frame's window; r at the best lag within ±2 frames;
- **bilabial closures**: the share of m, b and p phones (timed from the audio: flite's own
  timings, or a forced alignment of the known text) on which the lips close within ±1 frame;
- **intelligibility**: pocketsphinx's word accuracy on the voice track.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from subject2video.media.audio import Audio
from subject2video.media.phones import recognise, word_accuracy
from subject2video.media.voice import Phone

#: English lines of 5-20 words for the intelligibility and lip-sync measures (not tuned on).
EVAL_LINES = [
    "Welcome to our shop, we are open every day.",
    "My name is Grace and I write computer programs.",
    "Please remember to bring your umbrella tomorrow morning.",
    "The museum opens at nine and closes at five.",
    "Thank you for watching, and see you next week.",
    "We built a boat and sailed across the bay.",
    "Happy birthday, I hope you have a wonderful party tonight.",
    "The weather will be warm and sunny all weekend.",
    "I moved to the city when I was twenty years old.",
    "Before you begin, please read the instructions on the first page.",
    "Our baker makes fresh bread every morning before sunrise.",
    "Maybe we should meet at the park by the big maple tree.",
]
BILABIALS = {"m", "b", "p"}
#: A lip gap (over the eye distance) at or under this is closed lips.
CLOSED_GAP = 0.03


def pearson(a: np.ndarray, b: np.ndarray) -> float:
    a, b = np.asarray(a, float), np.asarray(b, float)
    if len(a) < 3 or a.std() < 1e-9 or b.std() < 1e-9:
        return 0.0
    return float(np.corrcoef(a, b)[0, 1])


def lip_sync_r(gaps: np.ndarray, rms: np.ndarray, max_lag: int = 2) -> tuple[float, int]:
    """(r, lag): Pearson of the lip gaps and the audio RMS at the best lag within ±`max_lag`
    frames (a positive lag: the lips follow the sound). Frames without a reading (NaN) skipped."""
    best = (-1.0, 0)
    n = min(len(gaps), len(rms))
    for lag in range(-max_lag, max_lag + 1):
        g = gaps[max(0, lag) : n + min(0, lag)]
        s = rms[max(0, -lag) : n - max(0, lag)]
        ok = ~np.isnan(g)
        r = pearson(g[ok], s[ok])
        if r > best[0]:
            best = (r, lag)
    return best


def closures(gaps: np.ndarray, phones: list[Phone], fps: float) -> tuple[int, int]:
    """(closed, total): the m/b/p phones on which the lip gap is closed within ±1 frame."""
    total = closed = 0
    for phone in phones:
        if phone.phone not in BILABIALS:
            continue
        total += 1
        # The frame whose span holds the middle (frame i spans [i, i + 1) / fps), as the
        # engine and `Audio.frame_rms` count frames.
        mid = int(np.floor((phone.start + phone.end) / 2 * fps + 1e-9))
        window = gaps[max(0, mid - 1) : mid + 2]
        window = window[~np.isnan(window)]
        if len(window) and float(window.min()) <= CLOSED_GAP:
            closed += 1
    return closed, total


def intelligibility(audio: Audio, text: str) -> tuple[float, str]:
    """(word accuracy, what pocketsphinx heard)."""
    heard = recognise(audio)
    return word_accuracy(text, heard), heard


@dataclass
class SpeechScore:
    """One speaking video's speech measures."""

    r: float
    lag: int
    closed: int
    bilabials: int
    accuracy: float | None = None

    @property
    def closure_share(self) -> float:
        return self.closed / self.bilabials if self.bilabials else 1.0


def lip_gaps(landmarks: list[np.ndarray | None]) -> np.ndarray:
    """Per frame, the inner-lip gap (dlib points 61-63 to 65-67) over the distance between the
    eye centres; NaN where the face was lost."""
    out = np.full(len(landmarks), np.nan)
    for i, p in enumerate(landmarks):
        if p is None:
            continue
        p = np.asarray(p, np.float64)
        eyes = float(np.linalg.norm(p[42:48].mean(0) - p[36:42].mean(0)))
        gap = float(np.mean(p[[67, 66, 65], 1] - p[[61, 62, 63], 1]))
        out[i] = max(0.0, gap) / max(eyes, 1e-6)
    return out


def score_video(
    landmarks: list[np.ndarray | None], audio: Audio, phones: list[Phone], fps: float
) -> SpeechScore:
    """Lip-sync r and closures of one speaking video from its tracked landmarks and its audio."""
    gaps = lip_gaps(landmarks)
    rms = audio.frame_rms(fps, len(gaps))
    r, lag = lip_sync_r(gaps, rms)
    closed, total = closures(gaps, phones, fps)
    return SpeechScore(r, lag, closed, total)
