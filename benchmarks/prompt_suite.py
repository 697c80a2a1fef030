"""The prompt suite: 44 prompts over two faces, each video made by the portrait engine, encoded
as the server does, and measured by `s2v eval`'s code. Prints the share of named motions found
in the named direction, identity and background figures, as markdown.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

from _faces import FACES

from subject2video.contract import DEFAULT_PROMPT
from subject2video.engines.base import GenerationRequest, NullContext
from subject2video.engines.portrait import PortraitEngine
from subject2video.media.faces import get_analyzer
from subject2video.media.video import Mp4Writer, output_size, read_frames
from subject2video.quality import Report, evaluate

PROMPTS = [
    DEFAULT_PROMPT,
    "She turns her head to the left",
    "She turns her head to the right",
    "He slowly turns to the left and smiles",
    "Quickly turns her head to the right while the camera pushes in",
    "She looks up",
    "She looks down at her hands",
    "He nods gently",
    "She nods and smiles",
    "He shakes his head",
    "She tilts her head to the left",
    "She tilts her head to the right and smiles softly",
    "She blinks",
    "He winks with his left eye",
    "She winks with her right eye",
    "She smiles",
    "A broad smile spreads across her face",
    "He frowns",
    "She laughs",
    "She laughs dramatically as the camera pulls out",
    "He talks to the camera",
    "She is speaking, explaining something calmly",
    "She looks surprised",
    "Surprised, he raises his eyebrows",
    "She breathes deeply",
    "He sways gently",
    "She walks down the street",
    "The camera pushes in slowly on her face",
    "The camera zooms in",
    "The camera pulls back",
    "The camera zooms out as she smiles",
    "The camera pans left",
    "The camera pans right while she talks",
    "A static camera; she turns her head to the left",
    "Locked-off shot: he nods and blinks",
    "She smiles and slowly turns her head to the left while the camera pushes in",
    "He looks up and to the right",
    "She turns her head left and then to the right",
    "She looks down, then looks up and smiles",
    "Subtly, she tilts her head to the right while talking",
    "He laughs and shakes his head",
    "She dramatically turns to the right as the camera pans left",
    "A portrait of a woman in soft light",
    "She holds her breath and stares without blinking",
]


def run(prompt: str, face: str, workdir: Path) -> tuple[Report, float]:
    image = FACES[face]()
    subject = get_analyzer().subject(image)
    width, height = output_size(image.shape[1], image.shape[0])
    request = GenerationRequest(
        image=image, face=subject, prompt=prompt, seed=11, width=width, height=height
    )
    path = workdir / "video.mp4"
    started = time.perf_counter()
    with Mp4Writer(path, width, height) as writer:
        for frame in PortraitEngine().frames(request, NullContext()):
            writer.write(frame)
    seconds = time.perf_counter() - started
    return evaluate(read_frames(path), image, prompt=prompt, identity_step=10), seconds


def main() -> None:
    names = list(FACES)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for i, prompt in enumerate(PROMPTS):
            face = names[i % len(names)]
            report, seconds = run(prompt, face, Path(tmp))
            rows.append((prompt, face, report, seconds))
            print(
                f"{i + 1}/{len(PROMPTS)} {face}: {report.found_share} {prompt[:60]}",
                file=sys.stderr,
            )
    checks = [c for _, _, r, _ in rows for c in r.motions]
    found = sum(c.found for c in checks)
    means = [r.identity_mean for _, _, r, _ in rows if r.identity_mean is not None]
    maxes = [r.identity_max for _, _, r, _ in rows if r.identity_max is not None]
    still = [
        r.background_max
        for p, _, r, _ in rows
        if r.background_max is not None and r.camera_zoom < 0.005 and r.camera_shift < 1
    ]
    print(f"Prompt suite: {len(PROMPTS)} prompts over {len(names)} faces ({', '.join(names)})\n")
    print(
        f"- named motions found in the named direction: {found}/{len(checks)} "
        f"({100 * found / max(1, len(checks)):.0f}%)"
    )
    print(
        "- identity (descriptor distance, every 10th frame): mean of means "
        f"{sum(means) / len(means):.3f}, "
        f"worst mean {max(means):.3f}, worst frame {max(maxes):.3f}"
    )
    if still:
        print(
            f"- background residual with a still camera ({len(still)} videos): worst "
            f"{max(still):.2f} grey levels"
        )
    print("\n| # | face | prompt | found | missed | id mean/max | bg max |")
    print("|---|---|---|---|---|---|---|")
    for i, (prompt, face, r, _) in enumerate(rows, 1):
        hit = ", ".join(c.kind for c in r.motions if c.found) or "-"
        miss = ", ".join(c.kind for c in r.motions if not c.found) or "-"
        short = prompt if len(prompt) < 70 else prompt[:67] + "..."
        bg = "n/a" if r.background_max is None else f"{r.background_max:.2f}"
        print(
            f"| {i} | {face} | {short} | {hit} | {miss} | "
            f"{r.identity_mean:.2f}/{r.identity_max:.2f} | {bg} |"
        )


if __name__ == "__main__":
    main()
