"""Portrait engine time against video length: 4, 6, 8, 10 and 12 s at 720p (engine and encoder
together, as the server runs them). Time per frame should stay flat; 12 s should take at most 2.2x
the time of 6 s. Three rounds, lengths interleaved, best of the rounds per length. Both wall time
and the process's CPU time (every thread: engine and encoder) are shown: on a shared machine the
wall time moves with other work, the CPU time much less, so the check is made on CPU time and the
wall ratio is printed beside it. Prints a markdown table and the 12 s / 6 s ratios.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

from _faces import FACES

from subject2video.engines.base import GenerationRequest, NullContext
from subject2video.engines.portrait import PortraitEngine
from subject2video.media.faces import get_analyzer
from subject2video.media.video import Mp4Writer, output_size

PROMPT = "She smiles and slowly turns her head to the left while the camera pushes in"
SECONDS = (4, 6, 8, 10, 12)
ROUNDS = 3
LIMIT = 2.2


def _request(seconds: int) -> GenerationRequest:
    image = FACES["astronaut"]()
    face = get_analyzer().subject(image)
    width, height = output_size(image.shape[1], image.shape[0], 720)
    return GenerationRequest(
        image=image,
        face=face,
        prompt=PROMPT,
        seed=1,
        width=width,
        height=height,
        frames=seconds * 25,
    )


def _run(request: GenerationRequest, out: Path) -> tuple[float, float]:
    """Wall and CPU seconds of one video."""
    started, cpu = time.perf_counter(), time.process_time()
    count = 0
    with Mp4Writer(out, request.width, request.height) as writer:
        for frame in PortraitEngine().frames(request, NullContext()):
            writer.write(frame)
            count += 1
    assert count == request.frames, (count, request.frames)
    return time.perf_counter() - started, time.process_time() - cpu


def main() -> int:
    wall: dict[int, float] = {}
    cpu: dict[int, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "out.mp4"
        _run(_request(2), out)  # warm-up: models loaded, caches filled
        for _ in range(ROUNDS):
            for seconds in SECONDS:
                took, used = _run(_request(seconds), out)
                wall[seconds] = min(wall.get(seconds, took), took)
                cpu[seconds] = min(cpu.get(seconds, used), used)
    size = f"{_request(6).width}x{_request(6).height}"
    print(f"Portrait engine + encoder, astronaut, {size}, best of {ROUNDS} rounds\n")
    print("| length | frames | wall (s) | CPU (s) | CPU ms per frame | CPU vs 6 s | wall vs 6 s |")
    print("|---|---|---|---|---|---|---|")
    for seconds in SECONDS:
        frames = seconds * 25
        print(
            f"| {seconds} s | {frames} | {wall[seconds]:.2f} | {cpu[seconds]:.2f} | "
            f"{1000 * cpu[seconds] / frames:.1f} | {cpu[seconds] / cpu[6]:.2f}x | "
            f"{wall[seconds] / wall[6]:.2f}x |"
        )
    ratio, wall_ratio = cpu[12] / cpu[6], wall[12] / wall[6]
    verdict = "ok" if ratio <= LIMIT else "OVER"
    print(f"\n12 s / 6 s: CPU {ratio:.2f}x (limit {LIMIT}x: {verdict}), wall {wall_ratio:.2f}x")
    return 0 if ratio <= LIMIT else 1


if __name__ == "__main__":
    sys.exit(main())
