"""Speed of the portrait engine: a 6 s, 720p video, per stage, against encoding alone.

Per face and prompt (the bench's own, and the seed's default prompt), in one process: (1) the
engine and the encoder together, once, for the peak memory; (2) the engine alone (per-stage
times); (3) the engine and the encoder together as the server runs them
(`tasks.pipeline.render`: the encoder in its own thread, on one core fewer than the machine
has), the same with each frame's geometry made ahead in a third thread
(`PortraitEngine(prefetch=True)`), the same with neither thread (one after the other, the
encoder on every core), the encoder alone on the same 150 frames on every core, and, for
"the slower of the two" that the pipelined wall approaches, the engine alone with OpenCV on one
thread and the encoder alone on one thread, interleaved, best of five (wall and CPU seconds).
Then `s2v generate` itself, three times per face and prompt (a new process each time: start-up,
model loading, decoding, the engine, encoding): wall, CPU seconds and peak RSS of the process; with
`S2V_BENCH_BASELINE=/path/to/other/s2v` (today's code, say), that `s2v` too, interleaved, in the
same run. Prints a markdown table; compare the ratios, which are taken within one run, rather
than the seconds.
`python benchmarks/portrait_bench.py --sheets docs` writes the README's old/new sheets.
"""

from __future__ import annotations

import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
from _faces import FACES

from subject2video.contract import DEFAULT_PROMPT
from subject2video.engines.base import GenerationRequest, NullContext
from subject2video.engines.portrait import PortraitEngine
from subject2video.media.faces import get_analyzer
from subject2video.media.video import Mp4Writer, output_size
from subject2video.tasks.pipeline import render

PROMPT = "She smiles and slowly turns her head to the left while the camera pushes in"
PROMPTS = {"bench": PROMPT, "seed": DEFAULT_PROMPT}


def _request(image: np.ndarray, prompt: str) -> GenerationRequest:
    face = get_analyzer().subject(image)
    width, height = output_size(image.shape[1], image.shape[0])
    return GenerationRequest(
        image=image, face=face, prompt=prompt, seed=1, width=width, height=height
    )


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _generate_once(s2v: str, photo: Path, prompt: str, out: Path) -> tuple[float, float, float]:
    """One `s2v generate` in a new process: wall seconds, CPU seconds, peak RSS (MB)."""
    started = time.perf_counter()
    child = subprocess.Popen(
        [s2v, "generate", str(photo), "-p", prompt, "-o", str(out)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    _, status, usage = os.wait4(child.pid, 0)
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode:
        raise RuntimeError(f"{s2v} generate failed ({child.returncode})")
    wall = time.perf_counter() - started
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024


def _generate_median(name: str, prompt: str, runs: int = 3) -> dict[str, dict[str, float]]:
    """Median wall and CPU seconds and peak RSS of `s2v generate` on the face's photo (each run a
    new process), for this checkout's `s2v` and, interleaved, S2V_BENCH_BASELINE's."""
    from PIL import Image

    tools = {"this": str(Path(sys.executable).with_name("s2v"))}
    if os.environ.get("S2V_BENCH_BASELINE"):
        tools["baseline"] = os.environ["S2V_BENCH_BASELINE"]
    runs_of: dict[str, list[tuple[float, float, float]]] = {k: [] for k in tools}
    with tempfile.TemporaryDirectory() as tmp:
        photo = Path(tmp) / f"{name}.png"
        Image.fromarray(FACES[name]()).save(photo)
        for _ in range(runs):
            for key, s2v in tools.items():
                runs_of[key].append(_generate_once(s2v, photo, prompt, Path(tmp) / "o.mp4"))
    return {
        key: {
            "wall": float(np.median([r[0] for r in rows])),
            "cpu": float(np.median([r[1] for r in rows])),
            "rss": float(np.median([r[2] for r in rows])),
        }
        for key, rows in runs_of.items()
    }


def _pipeline(
    request: GenerationRequest, out: Path, *, prefetch: bool | None, pipelined: bool = True
) -> tuple[float, float]:
    """The engine and the encoder together: wall and CPU seconds. `pipelined`: as the server
    runs them (`tasks.pipeline.render`: the encoder in its own thread, leaving the engine a
    core); otherwise one after the other, frame by frame, the encoder on every core."""
    started, cpu = time.perf_counter(), time.process_time()
    engine = PortraitEngine(prefetch=prefetch)
    if pipelined:
        render(engine, request, NullContext(), out)  # the server's own loop and encoder settings
    else:
        with Mp4Writer(out, request.width, request.height) as writer:
            for frame in engine.frames(request, NullContext()):
                writer.write(frame)
    return time.perf_counter() - started, time.process_time() - cpu


def _encode(
    request: GenerationRequest, frames: list[np.ndarray], out: Path, threads: int | None = None
) -> tuple[float, float]:
    """The encoder alone on made frames (on every core, or on `threads`): wall and CPU seconds."""
    started, cpu = time.perf_counter(), time.process_time()
    with Mp4Writer(out, request.width, request.height, threads=threads) as writer:
        for frame in frames:
            writer.write(frame)
    return time.perf_counter() - started, time.process_time() - cpu


def _engine_one_core(request: GenerationRequest) -> float:
    """The engine alone with OpenCV on one thread (the engine's share of two cores when the
    encoder has the other): wall seconds."""
    import cv2

    threads = cv2.getNumThreads()
    cv2.setNumThreads(1)
    try:
        started = time.perf_counter()
        for _ in PortraitEngine(prefetch=False).frames(request, NullContext()):
            pass
        return time.perf_counter() - started
    finally:
        cv2.setNumThreads(threads)


def bench(
    name: str, image: np.ndarray, out: Path, prompt: str = PROMPT, rounds: int = 5
) -> dict[str, Any]:
    """One face: full pipeline (with and without the geometry made ahead in a thread), engine
    alone, encoder alone.

    The serial pipeline and the encoder alone are run `rounds` times, interleaved, and the best
    of each kept (CPU seconds, every thread of the process, are steadier than wall seconds on a
    shared machine; both are given).
    """
    request = _request(image, prompt)
    total, _ = _pipeline(request, out, prefetch=None)  # as the server runs it
    peak = _peak_mb()
    engine = PortraitEngine(prefetch=False)
    started = time.perf_counter()
    frames = list(engine.frames(request, NullContext()))
    alone = time.perf_counter() - started
    stages = dict(engine.timings)
    serial, ahead, unpiped, encode, engine_one, encode_one = [], [], [], [], [], []
    for _ in range(rounds):
        serial.append(_pipeline(request, out, prefetch=False))
        ahead.append(_pipeline(request, out, prefetch=True))
        unpiped.append(_pipeline(request, out, prefetch=False, pipelined=False))
        encode.append(_encode(request, frames, out))
        engine_one.append(_engine_one_core(request))
        encode_one.append(_encode(request, frames, out, threads=1)[0])
    return {
        "size": f"{request.width}x{request.height}",
        "total": total,
        "engine": alone,
        "encode": min(w for w, _ in encode),
        "encode_cpu": min(c for _, c in encode),
        "serial": min(w for w, _ in serial),
        "serial_cpu": min(c for _, c in serial),
        "ahead": min(w for w, _ in ahead),
        "ahead_cpu": min(c for _, c in ahead),
        "unpiped": min(w for w, _ in unpiped),
        "unpiped_cpu": min(c for _, c in unpiped),
        "engine_one": min(engine_one),
        "encode_one": min(encode_one),
        "peak": peak,
        **stages,
    }


def one(name: str, which: str = "bench") -> None:
    """Bench one face in this process and print its figures as JSON (peak RSS is per process)."""
    started = time.perf_counter()
    get_analyzer()
    PortraitEngine().setup()
    load = time.perf_counter() - started
    with tempfile.TemporaryDirectory() as tmp:
        row = bench(name, FACES[name](), Path(tmp) / "out.mp4", PROMPTS[which])
    print(json.dumps({**row, "load": load}))


def main() -> None:
    rows = []
    for name in FACES:
        for which, prompt in PROMPTS.items():
            out = subprocess.run(
                [sys.executable, __file__, name, which], check=True, capture_output=True, text=True
            )
            row = json.loads(out.stdout.strip().splitlines()[-1])
            row["generate"] = _generate_median(name, prompt)
            rows.append((f"{name}, {which} prompt", row))
    cpu = platform.processor() or platform.machine()
    print(
        f"Prompt {PROMPT!r}; {os.cpu_count()} cores ({cpu}); face models load once per worker, "
        f"{rows[0][1]['load']:.1f} s, not counted (the mesh and the segmentation, let go before "
        "each video's frames, load again in each video, counted).\n"
    )
    print(
        "| face, prompt | output | analysis | matte | rig / plate (side by side) | render "
        "| engine alone | encode alone "
        "(wall / CPU) | engine + encode, pipelined (wall / CPU) | ratio to encode (wall / CPU) "
        "| geometry ahead in a thread, pipelined (wall / CPU, ratio) "
        "| one after the other (wall, ratio) | one core each, alone: engine / encoder (wall) "
        "| pipelined / the slower of those | peak RSS |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for name, r in rows:
        print(
            f"| {name} | {r['size']} | {r['analysis']:.2f} s | {r['matte']:.2f} s | "
            f"{r['rig']:.2f} / {r['plate']:.2f} s | {r['render']:.2f} s | {r['engine']:.2f} s | "
            f"{r['encode']:.2f} / {r['encode_cpu']:.2f} s | "
            f"{r['serial']:.2f} / {r['serial_cpu']:.2f} s | "
            f"{r['serial'] / r['encode']:.2f}x / {r['serial_cpu'] / r['encode_cpu']:.2f}x | "
            f"{r['ahead']:.2f} / {r['ahead_cpu']:.2f} s, {r['ahead'] / r['encode']:.2f}x | "
            f"{r['unpiped']:.2f} s, {r['unpiped'] / r['encode']:.2f}x | "
            f"{r['engine_one']:.2f} / {r['encode_one']:.2f} s | "
            f"{r['serial'] / max(r['engine_one'], r['encode_one']):.2f}x | {r['peak']:.0f} MB |"
        )
    print()
    print("`s2v generate`, median of three new processes (wall / CPU seconds / peak RSS):\n")
    keys = list(rows[0][1]["generate"])
    print("| face, prompt | " + " | ".join(f"{k}" for k in keys) + " |")
    print("|---|" + "---|" * len(keys))
    for name, r in rows:
        cells = [
            f"{g['wall']:.2f} s / {g['cpu']:.2f} s / {g['rss']:.0f} MB"
            for g in (r["generate"][k] for k in keys)
        ]
        print(f"| {name} | " + " | ".join(cells) + " |")


#: Old (2D warp) against new (3D mesh) sheets for the README: (file, face, prompt, frames).
SHEETS = [
    ("turn", "astronaut", "She turns her head to the left", [0, 25, 45, 70, 110, 149], 0.9),
    ("laugh", "hopper", "She laughs", [0, 12, 30, 44, 62, 90], 0.55),
    ("wink", "hopper", "He winks with his left eye", [0, 12, 16, 18, 21, 60], 0.55),
]


def sheets(folder: Path) -> None:
    """Write one PNG per entry of SHEETS: the 2D engine's faces over the 3D engine's."""
    from PIL import Image

    from subject2video.quality.sheet import TILE, _face_crop

    folder.mkdir(parents=True, exist_ok=True)
    for stem, name, prompt, picks, reach in SHEETS:
        image = FACES[name]()
        face = get_analyzer().subject(image)
        width, height = output_size(image.shape[1], image.shape[0])
        request = GenerationRequest(
            image=image, face=face, prompt=prompt, seed=11, width=width, height=height
        )
        rows = []
        for mode in ("2d", "auto"):
            frames = list(PortraitEngine(mode=mode).frames(request, NullContext()))
            # The same crop for every frame and both engines: the first frame's face.
            crops = [
                _face_crop(frames[i], get_analyzer(), around=frames[0], reach=reach) for i in picks
            ]
            rows.append(np.concatenate(crops, axis=1))
        sheet = Image.fromarray(np.concatenate(rows, axis=0)).resize(
            (len(picks) * TILE * 3 // 4, TILE * 3 // 2), Image.Resampling.LANCZOS
        )
        sheet.quantize(256, dither=Image.Dither.NONE).save(folder / f"portrait-{stem}.png")
        print(f"{folder / f'portrait-{stem}.png'}: {prompt!r} on {name}, frames {picks}")


if __name__ == "__main__":
    if len(sys.argv) > 2 and sys.argv[1] == "--sheets":
        sheets(Path(sys.argv[2]))
    elif len(sys.argv) > 1:
        one(sys.argv[1], *sys.argv[2:3])
    else:
        main()
