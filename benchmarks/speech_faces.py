"""Lip-sync, closures and intelligibility face by face, voice by voice, on photos the engine was
not tuned on, through the service's own pipeline (tasks/pipeline.prepare and render: framing,
speech, the AAC mux), each video measured as `s2v eval` measures it (quality/report._speech:
the phones by aligning the known words with the video's own audio track, dlib's lip gap).

Photos: the suite's two (the astronaut, Grace Hopper) and the sample photos that two PyPI
sdists ship, read from the archives (or from their unpacked folders) in DIR; nothing installed:

    pip download face_recognition==1.3.0 --no-deps --no-binary :all: -d DIR
    pip download insightface==0.7.3 --no-deps --no-binary :all: -d DIR  # see below
    .venv/bin/python benchmarks/speech_faces.py --sdists DIR [--lines 4] [--uploads 1]

(insightface's sdist needs build dependencies that do not build here, so `pip download` stops
after unpacking it: copy the unpacked `insightface-0.7.3` folder from pip's temporary directory
into DIR, or `tar xzf` the archive there.)

The group photo is also cut into a crop around each of five faces (`T1_CROPS`): in the whole
photo the framed speaker is turned about 45° and dlib, the measurer, takes a frontal bystander.
`MORE_PHOTOS` and `MIRRORED` add four more (a second cut of a face, and mirrored photos).

Each face speaks `--lines` lines per voice, taken in turn from `LINES` (the twelve
`EVAL_LINES` and twelve more written for this run, 5-20 words), so that the faces together
cover every line in every voice; word accuracy per voice is averaged over every line spoken.
`--uploads` lines per face are also given as an uploaded WAV (the TTS line written to a file,
read back by the service's decoder) with no transcript: the lips follow recognition.
Prints one markdown row per video, then a table per face and per voice, and the lag counts.
"""

from __future__ import annotations

import argparse
import io
import tempfile
import time
import wave
from collections import defaultdict
from pathlib import Path

import numpy as np
from _faces import FACES, T1, sdist_file
from PIL import Image

from subject2video.contract import RunInput
from subject2video.engines.base import NullContext
from subject2video.engines.portrait.engine import PortraitEngine
from subject2video.media.audio import Audio, load_audio
from subject2video.media.detector import get_detector
from subject2video.media.faces import get_analyzer
from subject2video.media.images import LoadedImage, load_image
from subject2video.media.video import read_audio, read_frames
from subject2video.media.voice import speak
from subject2video.prompts import read_lines
from subject2video.quality.report import _speech
from subject2video.quality.speech import EVAL_LINES
from subject2video.quality.track import SPEECH_DETECT_EVERY, track
from subject2video.tasks.pipeline import prepare, render

#: Written for this run, after the engine's last change and before any was measured (5-20 words).
MORE_LINES = [
    "Come in and sit down, please.",
    "My brother Paul plays the piano beautifully.",
    "The bus to the harbor leaves from platform seven every hour.",
    "Remember, the best time to plant a tree was twenty years ago.",
    "Please bring a map, a pen and some money for the boat trip.",
    "I am proud of what we made together.",
    "This morning the market opened early because of the holiday.",
    "If you have any questions, send me a message before Monday.",
    "Welcome back, everybody.  Today we will talk about bees and honey.",
    "The old bridge by the mill was built more than a hundred years ago, and it still carries "
    "trucks.",
    "Maybe it will rain tonight.",
    "Put the blue book back on the big shelf by the window.",
]
LINES = EVAL_LINES + MORE_LINES
VOICES = ("female", "male", "scottish")
PROMPT = "The person looks at the camera and says: "

#: (sdist file name, member) -> the photos it ships that show one face large enough.
SDIST_PHOTOS = {
    "obama": ("face_recognition-1.3.0.tar.gz", "tests/test_images/obama.jpg"),
    "obama2": ("face_recognition-1.3.0.tar.gz", "tests/test_images/obama2.jpg"),
    "obama3": ("face_recognition-1.3.0.tar.gz", "tests/test_images/obama3.jpg"),
    "biden": ("face_recognition-1.3.0.tar.gz", "tests/test_images/biden.jpg"),
    "t1 group": ("insightface-0.7.3.tar.gz", "insightface/data/images/t1.jpg"),
    "tom hanks 112px": ("insightface-0.7.3.tar.gz", "insightface/data/images/Tom_Hanks_54745.png"),
}
#: Crops of the group photo around each face dlib finds in it (left, top, right, bottom), so that
#: the measurer's largest face is the one that speaks.
T1_CROPS = {
    "t1 left": (0, 170, 330, 530),
    "t1 second": (330, 180, 680, 540),
    "t1 middle": (610, 250, 950, 610),
    "t1 top": (760, 0, 1110, 360),
    "t1 right": (960, 170, 1280, 530),
}

#: More photos no engine change was tuned on: the smiling Obama cut differently, and three of the
#: faces above mirrored (the same people, every pixel somewhere new to the mesh and the measurer).
MORE_PHOTOS = {
    "obama partial": ("face_recognition-1.3.0.tar.gz", "tests/test_images/obama_partial_face.jpg"),
}
MIRRORED = ("hopper", "biden", "t1 middle")


def _png(image: np.ndarray) -> bytes:
    out = io.BytesIO()
    Image.fromarray(image).save(out, format="PNG")
    return out.getvalue()


def photos(sdists: Path | None) -> dict[str, bytes]:
    """name -> encoded photo: the suite's two, then the sdists' (a small one enlarged to 448 px,
    the server's least short side being 300)."""
    found = {name: _png(make()) for name, make in FACES.items()}
    if sdists is None:
        return found
    crops = {name: (*T1, box) for name, box in T1_CROPS.items()}
    plain = {name: (*where, None) for name, where in SDIST_PHOTOS.items()}
    more = {name: (*where, None) for name, where in MORE_PHOTOS.items()}
    for name, (archive, member, box) in {**plain, **crops, **more}.items():
        data = sdist_file(sdists, archive, member)
        if data is None:
            unpacked = sdists / archive.removesuffix(".tar.gz") / member
            print(f"skipped {name}: neither {sdists / archive} nor {unpacked} is there")
            continue
        image = Image.open(io.BytesIO(data)).convert("RGB")
        if box is not None:
            image = image.crop(box)
        if min(image.size) < 300:
            image = image.resize((448, 448), Image.Resampling.LANCZOS)
        found[name] = _png(np.asarray(image))
    for name in MIRRORED:
        if name in found:
            image = Image.open(io.BytesIO(found[name])).transpose(Image.Transpose.FLIP_LEFT_RIGHT)
            found[f"{name} mirrored"] = _png(np.asarray(image))
    return found


def wav_bytes(audio: Audio) -> bytes:
    out = io.BytesIO()
    with wave.open(out, "wb") as file:
        file.setnchannels(1)
        file.setsampwidth(2)
        file.setframerate(audio.rate)
        file.writeframes((np.clip(audio.samples, -1, 1) * 32767).astype("<i2").tobytes())
    return out.getvalue()


def one(
    loaded: LoadedImage, line: str, voice: str, out: Path, upload: Audio | None
) -> tuple[dict, float]:
    """Make one speaking video as the service does and measure it as `s2v eval` does."""
    mark = time.perf_counter()
    prompt = PROMPT if upload is not None else f'{PROMPT}"{line}"'
    run = RunInput(prompt=prompt, voice=voice)
    prepared = prepare(
        loaded, run, get_detector(), seed=11, engine="portrait", voice_track=upload,
        follow_speech=True,
    )  # fmt: skip
    render(PortraitEngine(), prepared.request, NullContext(), out)
    made = time.perf_counter() - mark
    tr = track(read_frames(out), get_analyzer(), detect_every=SPEECH_DETECT_EVERY)
    audio = read_audio(out)
    assert audio is not None
    measured = _speech(tr.landmarks, audio, line, "", 25.0)
    measured["tracked"] = sum(p is not None for p in tr.landmarks) / max(1, len(tr.landmarks))
    measured["note"] = prepared.speech or ""
    return measured, made


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sdists", type=Path, default=None)
    parser.add_argument("--lines", type=int, default=4, help="lines per face and voice")
    parser.add_argument("--uploads", type=int, default=1, help="uploaded-WAV lines per face")
    parser.add_argument("--faces", default="", help="comma-separated names (default: all)")
    parser.add_argument("--turn", type=int, default=0, help="the first line's index in LINES")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="s2v-speech-faces-"))
    faces = photos(args.sdists)
    if args.faces:
        faces = {k: v for k, v in faces.items() if k in args.faces.split(",")}
    rows: list[dict] = []
    print("| face | voice | line | r (lag) | closures | word accuracy | tracked | s |")
    print("|---|---|---|---|---|---|---|---|")
    turn = args.turn
    for number, (face, data) in enumerate(faces.items()):
        loaded = load_image(data, parameter="image")
        jobs = []
        for voice in VOICES:
            for _ in range(args.lines):
                jobs.append((voice, turn % len(LINES), False))
                turn += 1
        for k in range(args.uploads):
            jobs.append((VOICES[(number + k) % len(VOICES)], (turn + 7 * k) % len(LINES), True))
        for voice, index, uploaded in jobs:
            line = LINES[index]
            upload = None
            if uploaded:
                spoken = speak(read_lines(f'She says "{line}"'), voice).audio
                upload = load_audio(wav_bytes(spoken), parameter="--audio")
            out = tmp / f"{face.replace(' ', '_')}-{voice}-{index}-{int(uploaded)}.mp4"
            try:
                m, seconds = one(loaded, line, voice, out, upload)
            except Exception as exc:  # a face the service refuses is a row too
                print(f"| {face} | {voice} | {index} | refused: {exc} | | | | |")
                continue
            row = {"face": face, "voice": voice + (" (upload)" if uploaded else ""), "line": index}
            rows.append(row | m)
            closures = f"{m['closed']}/{m['bilabials']}"
            print(
                f"| {face} | {row['voice']} | {index} | {m['lip_sync_r']:.2f} "
                f"({m['lip_sync_lag_frames']:+d}) | {closures} | "
                f"{100 * m.get('word_accuracy', 0):.0f}% | {100 * m['tracked']:.0f}% | "
                f"{seconds:.1f} |",
                flush=True,
            )
    summarise(rows)


def summarise(rows: list[dict]) -> None:
    print("\n| face | videos | r: least (mean) | lags -2..+2 | closures | word accuracy |")
    print("|---|---|---|---|---|---|")
    by_face: dict[str, list[dict]] = defaultdict(list)
    for row in rows:
        by_face[row["face"]].append(row)
    for face, group in [*by_face.items(), ("all", rows)]:
        print(_summary(face, group))
    print("\n| voice | videos | lines | r: least (mean) | closures | word accuracy (mean) |")
    print("|---|---|---|---|---|---|")
    by_voice: dict[str, list[dict]] = defaultdict(list)
    for row in rows:
        by_voice[row["voice"]].append(row)
    for voice, group in by_voice.items():
        # The words are the same whatever the face: one accuracy per line.
        per_line = {r["line"]: r.get("word_accuracy", 0.0) for r in group}
        rs = [r["lip_sync_r"] for r in group]
        closed = sum(r["closed"] for r in group)
        total = sum(r["bilabials"] for r in group)
        print(
            f"| {voice} | {len(group)} | {len(per_line)} | {min(rs):.2f} ({np.mean(rs):.2f}) | "
            f"{closed}/{total} ({100 * closed / max(total, 1):.0f}%) | "
            f"{100 * np.mean(list(per_line.values())):.0f}% |"
        )


def _summary(face: str, group: list[dict]) -> str:
    rs = [r["lip_sync_r"] for r in group]
    lags = np.bincount(np.array([r["lip_sync_lag_frames"] for r in group]) + 2, minlength=5)
    closed = sum(r["closed"] for r in group)
    total = sum(r["bilabials"] for r in group)
    accuracy = np.mean([r.get("word_accuracy", 0.0) for r in group])
    return (
        f"| {face} | {len(group)} | {min(rs):.2f} ({np.mean(rs):.2f}) | "
        f"{' '.join(str(int(x)) for x in lags)} | {closed}/{total} "
        f"({100 * closed / max(total, 1):.0f}%) | {100 * accuracy:.0f}% |"
    )


if __name__ == "__main__":
    main()
