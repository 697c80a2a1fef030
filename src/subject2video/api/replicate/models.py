"""The models this dialect serves, under Replicate's names, and their inputs as it spells them.

| model                 | photo (one of)                       | duration (s) | resolution        |
|-----------------------|--------------------------------------|--------------|-------------------|
| minimax/video-01      | subject_reference, first_frame_image | 6            | 720p              |
| minimax/video-01-live | first_frame_image                    | 6            | 720p              |
| minimax/hailuo-02     | first_frame_image                    | 6, 10        | 512p, 768p, 1080p |

720p keeps the photo's aspect. hailuo-02 defaults to 1080p, and takes 10 s only below 1080p.

Every model also takes `prompt`, `prompt_optimizer` (accepted, ignored: prompts are used as
given) and, an extension, `framing` (`subject` or `photo`). This server animates the person in a
photo, so the photo is required where Replicate makes it optional (text-to-video is refused with
422, naming the input). A model's version id is the
SHA-256 of its name: `POST /v1/predictions` takes it, `owner/name` or `owner/name:version`.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from subject2video import contract
from subject2video.contract import DEFAULT_SECONDS, REPLICATE, SHORT_SIDE

#: Replicate's input names (the dialect's name map, declared in contract.INPUTS).
PROMPT = contract.PROMPT.called(REPLICATE)
SUBJECT = contract.SUBJECT_IMAGE.called(REPLICATE)
FIRST_FRAME = contract.IMAGE.called(REPLICATE)
OPTIMIZER = contract.OPTIMIZER.called(REPLICATE)
DURATION = contract.LENGTH.called(REPLICATE)
RESOLUTION = contract.SIZE.called(REPLICATE)
SEED = contract.SEED.called(REPLICATE)
#: An extension (README): "subject" or "photo", as Wiro's `framing`.
FRAMING = contract.FRAMING.called(REPLICATE)
#: Extensions (README "Speech"): the voice of a quoted line, and a voice recording (a URL, a
#: data URI or a file of ours).
VOICE = contract.VOICE.called(REPLICATE)
AUDIO = contract.AUDIO.called(REPLICATE)
#: The create body's webhook fields.
WEBHOOK = "webhook"
WEBHOOK_COMPLETED = "webhook_completed"
EVENTS_FILTER = "webhook_events_filter"

#: Whose callback rules a task made here follows (the Task column `callback_dialect`).
DIALECT = "replicate"
#: The cog version each model version reports (clients read it; nothing here depends on it).
COG_VERSION = "0.9.0"


@dataclass(frozen=True)
class Model:
    """One model we serve under Replicate's name."""

    owner: str
    name: str
    description: str
    #: The inputs that may carry the photo, in order of preference.
    photo: tuple[str, ...]
    #: duration (s) -> the resolutions allowed at it; None: the length and size are fixed.
    durations: dict[int, tuple[str, ...]] | None = None
    default_resolution: str = ""

    @property
    def ref(self) -> str:
        return f"{self.owner}/{self.name}"

    @property
    def version(self) -> str:
        return hashlib.sha256(self.ref.encode()).hexdigest()

    @property
    def inputs(self) -> tuple[str, ...]:
        sized = (DURATION, RESOLUTION) if self.durations else ()
        return (PROMPT, *self.photo, OPTIMIZER, *sized, SEED, VOICE, AUDIO, FRAMING)


MODELS: dict[str, Model] = {
    m.ref: m
    for m in (
        Model(
            "minimax",
            "video-01",
            f"Subject to video: the person in {SUBJECT}, animated as the prompt says",
            (SUBJECT, FIRST_FRAME),
        ),
        Model(
            "minimax",
            "video-01-live",
            f"Image to video for a portrait: {FIRST_FRAME}, animated",
            (FIRST_FRAME,),
        ),
        Model(
            "minimax",
            "hailuo-02",
            "Image to video at 6 or 10 s and 512p to 1080p",
            (FIRST_FRAME,),
            durations={6: ("512p", "768p", "1080p"), 10: ("512p", "768p")},
            default_resolution="1080p",
        ),
    )
}
BY_VERSION: dict[str, Model] = {m.version: m for m in MODELS.values()}
SERVED = ", ".join(MODELS)
DEFAULT = MODELS["minimax/video-01"]


def short_side(resolution: str) -> int:
    """'768p' as 768."""
    return int(resolution.removesuffix("p"))


#: What a model's output is when nothing is asked: Wiro's length and size.
DEFAULT_OUTPUT = (DEFAULT_SECONDS, SHORT_SIDE)
