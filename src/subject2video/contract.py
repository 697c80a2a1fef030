"""The Run contract, declared once: the model, its parameters, their aliases, defaults and limits.

Every dialect parses its request into one `RunInput`; the service stores it, the runner reads it
back, and Tool/Detail, the OpenAPI document, the image checks and the face preview all read the
declarations below. Nothing else spells a parameter name, a default or a limit. (In the spirit of
cog's typed inputs: one declaration feeds validation and the published schema.)

Wiro's Run is fixed by the hosted model: 6 s at 25 fps (150 frames), the short side 720. The other
dialects may ask for lengths and sizes within `SECONDS` and `SHORT_SIDES`.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from subject2video.errors import InputError, NotFound, TooLarge

# -- the model ------------------------------------------------------------------------------

#: The hosted model this server stands in for; its slug is served by the Run route.
MODEL_OWNER = "MiniMax"
MODEL_PROJECT = "image-to-video-hailuo-01-subject"

# -- the output -----------------------------------------------------------------------------

FPS = 25
#: Wiro's length: six seconds.
DEFAULT_SECONDS = 6
FRAMES = DEFAULT_SECONDS * FPS
#: Wiro's output size: the photo's aspect with this short side.
SHORT_SIDE = 720
#: Lengths (seconds) and short sides (pixels) a dialect may ask for, both ends included.
SECONDS = (2, 12)
SHORT_SIDES = (480, 1080)
#: The longest side an explicit output size may have (1080p's long side at 16:9).
MAX_LONG_SIDE = 1920

# -- the image ------------------------------------------------------------------------------

#: The image URL parameter, the name every image error is reported under.
IMAGE_PARAM = "inputImageFirstUrl"
#: The multipart upload field (also accepted as a URL when it is text).
UPLOAD_PARAM = "inputImageFirst"
#: Wiro's multipart file part for an uploaded voice recording (beside `inputAudioUrl`); a task
#: stores the file's name under it, and the file beside the image's (tasks/service.py).
AUDIO_UPLOAD_PARAM = "inputAudio"
#: Where a dialect spells the audio input otherwise, its name is stored here, for the worker's
#: errors to use.
AUDIO_NAME_PARAM = "audioParam"
#: The keys a task's stored parameters use for what no caller types but the task must keep
#: (`RunInput.parameters()`; Wiro's Detail shows them beside the inputs): the short side a
#: dialect asked for, the task remixed, that the length follows the speech (no length given),
#: and the frames made when it did (the runner stores it once the speech is known).
SHORT_SIDE_PARAM = "shortSide"
REMIX_PARAM = "remixOf"
FOLLOW_SPEECH_PARAM = "followSpeech"
MADE_FRAMES_PARAM = "frames"
#: The image URL's other name (Tool/Detail lists it as an alternative).
IMAGE_URL_ALIAS = "inputImageUrl"
#: Where a URL may come, in order of precedence.
IMAGE_URL_ALIASES = (IMAGE_PARAM, IMAGE_URL_ALIAS, UPLOAD_PARAM)
MAX_IMAGE_BYTES = 20 * 1024 * 1024
MAX_PIXELS = 40_000_000
MIN_SHORT_SIDE = 300
#: Accepted width:height ratios, both ends included: 2:5 (portrait) to 5:2 (landscape).
ASPECT_MIN = (2, 5)
ASPECT_MAX = (5, 2)
IMAGE_FORMATS = ("jpeg", "png", "webp")

# -- text -----------------------------------------------------------------------------------

MAX_PROMPT = 2000
MAX_SEED_DIGITS = 20
#: Any URL a caller gives (image, callback): longer is refused before it is parsed.
MAX_URL = 2048
#: Any other text field of any request (names, tokens, orders...).
MAX_TEXT = 4096
#: How deep a JSON body may nest: Run's bodies are flat; 32 leaves room for any dialect.
MAX_JSON_DEPTH = 32
#: Task ids are 64-bit in the store: a longer number names no task (and must not overflow).
MAX_TASK_ID_DIGITS = 18
#: Socket access tokens are 30 characters; a token past this length names no task.
MAX_TOKEN = 64
_SEED = re.compile(rf"-?[0-9]{{1,{MAX_SEED_DIGITS}}}")
DEFAULT_PROMPT = (
    "A cinematic, sun-drenched photograph of a stylish woman walking on a sidewalk in Los "
    "Angeles. The scene is framed by a row of iconic palm trees lining the street, their "
    "fronds swaying gently against a clear blue sky. The woman is dressed in fashionable, "
    "casual clothing suitable for the warm weather, and she has a relaxed and confident "
    "stride. The light is golden, suggesting either early morning or late afternoon, creating "
    "long, dramatic shadows. In the background, there are hints of classic L.A. architecture "
    "and the cityscape. The image should be captured with a wide-angle lens to emphasize the "
    "scale of the palm trees and the expansive urban environment, with a shallow depth of "
    "field to focus on the woman."
)


@dataclass(frozen=True)
class Param:
    """One parameter of Run, as Tool/Detail publishes it and the parsers check it."""

    name: str
    label: str
    help: str
    #: Tool/Detail's input type: "text", "textarea" or "number".
    type: str
    required: bool = False
    default: Any = ""
    #: Other names a caller may use, as Tool/Detail lists them.
    alternatives: tuple[str, ...] = ()
    #: Tool/Detail's `limits` object (omitted when empty).
    limits: Mapping[str, Any] = field(default_factory=dict)
    #: For the OpenAPI document.
    description: str = ""
    #: The name each dialect (`DIALECTS`) gives this input; a dialect left out has no such input.
    #: Wiro's is `name`. This is the one place a dialect's spelling of an input is declared: the
    #: dialects' parsers, OpenAPI fragments and error messages read it from here (`spelling`).
    names: Mapping[str, str] = field(default_factory=dict)

    def schema(self, **extra: Any) -> dict[str, Any]:
        """This input's JSON Schema, for a dialect's OpenAPI fragment: its type and limits."""
        kind = {"number": "integer", "boolean": "boolean"}.get(self.type, "string")
        schema: dict[str, Any] = {"type": kind}
        if self.description:
            schema["description"] = self.description
        limits = self.limits
        for ours, theirs in (("maxlength", "maxLength"), ("min", "minimum"), ("max", "maximum")):
            if ours in limits:
                schema[theirs] = limits[ours]
        if "options" in limits:
            schema["enum"] = list(limits["options"])
        return {**schema, **extra}

    def called(self, dialect: str) -> str:
        """This input's name in `dialect` (KeyError if that dialect has no such input)."""
        return self.name if dialect == WIRO else self.names[dialect]


#: The dialects that name Run's inputs, each an api/ package.
WIRO, MINIMAX, OPENAI, REPLICATE = "wiro", "minimax", "openai", "replicate"
DIALECTS = (WIRO, MINIMAX, OPENAI, REPLICATE)


IMAGE = Param(
    name=IMAGE_PARAM,
    label="Subject Reference Image URL",
    help="The model will generate a video based on the subject uploaded through this parameter. "
    "Currently, only a human face accepted.",
    type="text",
    required=True,
    alternatives=(f"{UPLOAD_PARAM} (file upload)", IMAGE_URL_ALIAS),
    limits={
        "formats": list(IMAGE_FORMATS),
        "maxbytes": MAX_IMAGE_BYTES,
        "minshortside": MIN_SHORT_SIDE,
        "aspect": [f"{ASPECT_MIN[0]}:{ASPECT_MIN[1]}", f"{ASPECT_MAX[0]}:{ASPECT_MAX[1]}"],
        "maxpixels": MAX_PIXELS,
    },
    description="http(s) URL of a JPEG, PNG or WebP",
    names={MINIMAX: "first_frame_image", OPENAI: "input_reference", REPLICATE: "first_frame_image"},
)
PROMPT = Param(
    name="prompt",
    label="prompt",
    help="The prompt to generate the video.",
    type="textarea",
    default=DEFAULT_PROMPT,
    limits={"maxlength": MAX_PROMPT},
    names={MINIMAX: "prompt", OPENAI: "prompt", REPLICATE: "prompt"},
)
SEED = Param(
    name="seed",
    label="seed",
    help="Optional integer: the same seed and inputs give the same video.",
    type="number",
    names={OPENAI: "seed", REPLICATE: "seed"},
)
CALLBACK = Param(
    name="callbackUrl",
    label="callback URL",
    help="An http(s) URL that receives the task's Detail body when it ends.",
    type="text",
    description="http(s) URL that receives the final Detail",
    names={MINIMAX: "callback_url"},
)
#: The voices a quoted line can be spoken in (media/voice.py); the first is the default.
VOICES = ("female", "male", "scottish")
VOICE = Param(
    name="voice",
    label="voice",
    help='The voice for a line the person says in the prompt (She says: "Hello."): '
    + ", ".join(VOICES)
    + ".",
    type="select",
    default=VOICES[0],
    limits={"options": list(VOICES)},
    names={MINIMAX: "voice", OPENAI: "voice", REPLICATE: "voice"},
)
AUDIO = Param(
    name="inputAudioUrl",
    label="voice audio URL",
    help="Optional: a voice for the lips to follow (WAV, MP3, M4A/AAC, OGG/Opus; at most 12 s). "
    "A quoted line in the prompt is taken as its transcript and not spoken again.",
    type="text",
    alternatives=(f"{AUDIO_UPLOAD_PARAM} (file upload)",),
    limits={
        "formats": ["wav", "mp3", "m4a", "aac", "ogg", "opus"],
        "maxbytes": MAX_IMAGE_BYTES,
        "maxseconds": 12,
        "samplerates": [8000, 96000],
    },
    description="http(s) URL of a voice recording",
    names={MINIMAX: "audio_url", OPENAI: "audio_url", REPLICATE: "audio"},
)
#: How the video frames the photo (media/framing.py): "subject" frames a small face as a medium
#: close-up from the photo's own pixels; "photo" keeps the photo's framing. Unset: the server's
#: S2V_FRAMING setting (itself "subject" by default).
FRAMINGS = ("subject", "photo")
FRAMING = Param(
    name="framing",
    label="framing",
    help="subject: a face small in the photo is framed as a medium close-up from the photo's own "
    "pixels; photo: the photo's framing is kept. Unset: the server's setting (subject unless "
    "its operator chose otherwise).",
    type="select",
    default=FRAMINGS[0],
    limits={"options": list(FRAMINGS)},
    description="subject (frame a small face as a medium close-up) or photo (keep the framing)",
    names={MINIMAX: "framing", OPENAI: "framing", REPLICATE: "framing"},
)
#: S2V-01's photo (MiniMax's and Replicate's `minimax/video-01`): Run's image by another name.
SUBJECT_IMAGE = replace(IMAGE, names={MINIMAX: "subject_reference", REPLICATE: "subject_reference"})
#: The inputs other dialects have and Wiro's Run has not (its length and size are fixed). Their
#: `name` is the key a task's stored parameters use.
LENGTH = Param(
    name="seconds",
    label="length",
    help="The video's length in seconds.",
    type="number",
    default=DEFAULT_SECONDS,
    limits={"min": SECONDS[0], "max": SECONDS[1]},
    names={MINIMAX: "duration", OPENAI: "seconds", REPLICATE: "duration"},
)
SIZE = Param(
    name="size",
    label="size",
    help="The video's size: WIDTHxHEIGHT, or a named resolution.",
    type="text",
    limits={"shortside": list(SHORT_SIDES), "maxlongside": MAX_LONG_SIDE},
    names={MINIMAX: "resolution", OPENAI: "size", REPLICATE: "resolution"},
)
MODEL = Param(
    name="model",
    label="model",
    help="The model to run, by the dialect's name for it.",
    type="text",
    names={MINIMAX: "model", OPENAI: "model"},
)
OPTIMIZER = Param(
    name="promptOptimizer",
    label="prompt optimizer",
    help="Accepted and ignored: prompts are used as given.",
    type="boolean",
    description="accepted, ignored",
    names={MINIMAX: "prompt_optimizer", REPLICATE: "prompt_optimizer"},
)
#: Every input of every dialect, each declared once (above): its type, default, limits and names.
INPUTS: tuple[Param, ...] = (
    IMAGE,
    PROMPT,
    SEED,
    CALLBACK,
    VOICE,
    AUDIO,
    FRAMING,
    LENGTH,
    SIZE,
    MODEL,
    OPTIMIZER,
)
#: Run's parameters (Wiro's), in Tool/Detail's order. Other fields of a Run body are ignored.
PARAMETERS: tuple[Param, ...] = (IMAGE, PROMPT, SEED, CALLBACK, VOICE, AUDIO, FRAMING)


def spelling(dialect: str, *, image: Param = IMAGE) -> dict[str, str]:
    """Our parameter names (as errors name them) -> `dialect`'s, for every input it has: what
    `errors.spelled` needs to name a parameter as that dialect's caller does. `image` is the
    declaration the photo came under (`SUBJECT_IMAGE` for S2V-01's `subject_reference`)."""
    names = {p.name: p.names[dialect] for p in INPUTS if dialect in p.names}
    if dialect in image.names:
        names[IMAGE_PARAM] = names[UPLOAD_PARAM] = image.names[dialect]
    return names


@dataclass(frozen=True)
class RunInput:
    """One validated Run, whatever dialect asked for it."""

    #: The image URL; None when the image was uploaded (the upload's file name is then `upload`).
    image_url: str | None = None
    upload: str | None = None
    prompt: str | None = None
    #: The seed as the caller wrote it (kept as given, as Detail shows it).
    seed: str | None = None
    callback_url: str | None = None
    seconds: int = DEFAULT_SECONDS
    short_side: int = SHORT_SIDE
    #: An explicit output (width, height); None: the photo's aspect with `short_side`. The photo
    #: is then fitted to this aspect around the face (media/framing.py).
    size: tuple[int, int] | None = None
    #: The model name a dialect's caller asked for, as given (Detail shows it).
    model: str | None = None
    #: The task this one remixes (OpenAI's remix: the same photo, a new prompt).
    remix_of: int | None = None
    #: The voice for a spoken line (`VOICES`), as given; None: the default.
    voice: str | None = None
    #: A voice recording's URL for the lips to follow (fetched like the image).
    audio_url: str | None = None
    #: How the video frames the photo (`FRAMINGS`), as given; None: the server's setting.
    framing: str | None = None
    #: An uploaded voice recording's file name (stored beside the image; tasks/service.py).
    audio_upload: str | None = None
    #: The audio input as the caller's dialect spells it (errors name it); None: `AUDIO.name`,
    #: or `AUDIO_UPLOAD_PARAM` for an upload.
    audio_parameter: str | None = None
    #: The caller gave no length (a dialect's `seconds`/`duration` left out): a spoken video
    #: lasts as long as its speech (media/speaking.py), a silent one `seconds`.
    follow_speech: bool = False
    #: The frames the video was made with where it followed the speech (the runner stores it
    #: once the speech is known); None: `seconds` at `FPS`.
    made_frames: int | None = None

    @property
    def frames(self) -> int:
        return self.seconds * FPS

    @property
    def audio_name(self) -> str:
        """The audio input's name for errors, as the caller's dialect spells it."""
        if self.audio_parameter:
            return self.audio_parameter
        return AUDIO_UPLOAD_PARAM if self.audio_upload else AUDIO.name

    @property
    def length(self) -> float:
        """The video's length in seconds: what was made, where it followed the speech."""
        return self.made_frames / FPS if self.made_frames else float(self.seconds)

    def with_output(
        self,
        *,
        seconds: int | None = None,
        short_side: int | None = None,
        size: tuple[int, int] | None = None,
        model: str | None = None,
        remix_of: int | None = None,
        follow_speech: bool | None = None,
    ) -> RunInput:
        """This input with a length, a size or a model a dialect asked for (checked here)."""
        if seconds is not None:
            check_seconds(seconds, "seconds")
        if short_side is not None:
            check_short_side(short_side, "short_side")
        if size is not None:
            check_size(size, "size")
            short_side = min(size)
        return replace(
            self,
            seconds=self.seconds if seconds is None else seconds,
            short_side=self.short_side if short_side is None else short_side,
            size=self.size if size is None else size,
            model=self.model if model is None else model,
            remix_of=self.remix_of if remix_of is None else remix_of,
            follow_speech=self.follow_speech if follow_speech is None else follow_speech,
        )

    @property
    def prompt_or_default(self) -> str:
        return self.prompt or DEFAULT_PROMPT

    def with_upload(self, filename: str) -> RunInput:
        return replace(self, image_url=None, upload=filename)

    def parameters(self) -> dict[str, Any]:
        """The task's stored parameters (Detail shows them): the caller's inputs as given."""
        params: dict[str, Any] = {}
        if self.upload is not None:
            params[UPLOAD_PARAM] = self.upload
        elif self.image_url:
            params[IMAGE_PARAM] = self.image_url
        for name, value in (
            (PROMPT.name, self.prompt),
            (SEED.name, self.seed),
            (CALLBACK.name, self.callback_url),
            (VOICE.name, self.voice),
            (AUDIO.name, self.audio_url),
            (FRAMING.name, self.framing),
        ):
            if value:
                params[name] = value
        if self.seconds != DEFAULT_SECONDS:
            params[LENGTH.name] = self.seconds
        if self.short_side != SHORT_SIDE:
            params[SHORT_SIDE_PARAM] = self.short_side
        if self.size is not None:
            params[SIZE.name] = f"{self.size[0]}x{self.size[1]}"
        if self.model:
            params[MODEL.name] = self.model
        if self.remix_of is not None:
            params[REMIX_PARAM] = self.remix_of
        if self.audio_upload:
            params[AUDIO_UPLOAD_PARAM] = self.audio_upload
        if self.audio_parameter:
            params[AUDIO_NAME_PARAM] = self.audio_parameter
        if self.follow_speech:
            params[FOLLOW_SPEECH_PARAM] = True
        if self.made_frames:
            params[MADE_FRAMES_PARAM] = self.made_frames
        return params

    @classmethod
    def from_parameters(cls, params: Mapping[str, Any]) -> RunInput:
        """A stored task's input, read back (the runner's side of `parameters()`)."""
        url = _text(params.get(IMAGE_PARAM)) or _text(params.get(IMAGE_URL_ALIAS))
        return cls(
            image_url=url or None,
            upload=_text(params.get(UPLOAD_PARAM)) or None,
            prompt=_text(params.get(PROMPT.name)) or None,
            seed=_text(params.get(SEED.name)) or None,
            callback_url=_text(params.get(CALLBACK.name)) or None,
            seconds=int(params.get(LENGTH.name) or DEFAULT_SECONDS),
            short_side=int(params.get(SHORT_SIDE_PARAM) or SHORT_SIDE),
            size=_stored_size(params.get(SIZE.name)),
            model=_text(params.get(MODEL.name)) or None,
            remix_of=int(params[REMIX_PARAM]) if params.get(REMIX_PARAM) is not None else None,
            voice=_text(params.get(VOICE.name)) or None,
            audio_url=_text(params.get(AUDIO.name)) or None,
            framing=_text(params.get(FRAMING.name)) or None,
            audio_upload=_text(params.get(AUDIO_UPLOAD_PARAM)) or None,
            audio_parameter=_text(params.get(AUDIO_NAME_PARAM)) or None,
            follow_speech=params.get(FOLLOW_SPEECH_PARAM) is True,
            made_frames=int(params[MADE_FRAMES_PARAM]) if params.get(MADE_FRAMES_PARAM) else None,
        )

    def seed_value(self, task_uuid: str) -> int:
        """The seed to render with: the caller's, or one derived from the task, so that a rerun
        of the task repeats it."""
        parsed = parse_seed(self.seed)
        if parsed is not None:
            return parsed % 2**32
        return int(hashlib.sha256(task_uuid.encode()).hexdigest()[:8], 16)


# -- length and size ------------------------------------------------------------------------


def limits_text() -> str:
    """The length and size limits in words, for error messages and docs."""
    return (
        f"lengths {SECONDS[0]}-{SECONDS[1]} s at {FPS} fps; short side {SHORT_SIDES[0]}-"
        f"{SHORT_SIDES[1]} px, long side at most {MAX_LONG_SIDE} px, both even"
    )


def check_seconds(seconds: int, parameter: str) -> None:
    if not SECONDS[0] <= seconds <= SECONDS[1]:
        raise InputError(
            f"Request parameter [{parameter}] is {seconds}; lengths from {SECONDS[0]} to "
            f"{SECONDS[1]} seconds are served",
            parameter=parameter,
        )


def check_short_side(short_side: int, parameter: str) -> None:
    if not SHORT_SIDES[0] <= short_side <= SHORT_SIDES[1] or short_side % 2:
        raise InputError(
            f"Request parameter [{parameter}] asks for a short side of {short_side} px; an even "
            f"number from {SHORT_SIDES[0]} to {SHORT_SIDES[1]} is served",
            parameter=parameter,
        )


def check_size(size: tuple[int, int], parameter: str) -> None:
    """An explicit output size: even sides, the short one within SHORT_SIDES, the long one at most
    MAX_LONG_SIDE, the aspect within ASPECT_MIN..ASPECT_MAX."""
    width, height = size
    wrong = ""
    if width % 2 or height % 2:
        wrong = "both sides must be even"
    elif not SHORT_SIDES[0] <= min(size) <= SHORT_SIDES[1]:
        wrong = f"the short side must be {SHORT_SIDES[0]}-{SHORT_SIDES[1]} px"
    elif max(size) > MAX_LONG_SIDE:
        wrong = f"the long side must be at most {MAX_LONG_SIDE} px"
    elif not ASPECT_MIN[0] * height <= ASPECT_MIN[1] * width or (
        ASPECT_MAX[1] * width > ASPECT_MAX[0] * height
    ):
        wrong = (
            f"the aspect must be between {ASPECT_MIN[0]}:{ASPECT_MIN[1]} and "
            f"{ASPECT_MAX[0]}:{ASPECT_MAX[1]}"
        )
    if wrong:
        raise InputError(
            f"Request parameter [{parameter}] is {width}x{height}; {wrong}", parameter=parameter
        )


def parse_size(value: Any, parameter: str) -> tuple[int, int]:
    """'1280x720' as (1280, 720), checked."""
    text = _text(value).lower()
    match = re.fullmatch(r"([0-9]{2,5})\s*[x*]\s*([0-9]{2,5})", text)
    if match is None:
        raise InputError(
            f"Request parameter [{parameter}] must be WIDTHxHEIGHT, such as 1280x720; got "
            f"{str(value)[:40]!r}",
            parameter=parameter,
        )
    size = (int(match.group(1)), int(match.group(2)))
    check_size(size, parameter)
    return size


def parse_seconds(value: Any, parameter: str) -> int:
    """A whole number of seconds (a JSON number or a string of digits), checked."""
    if isinstance(value, bool):
        value = None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = str(value).strip() if isinstance(value, int | str) else ""
    if not re.fullmatch(r"[0-9]{1,3}", text):
        raise InputError(
            f"Request parameter [{parameter}] must be a whole number of seconds from "
            f"{SECONDS[0]} to {SECONDS[1]}; got {str(value)[:40]!r}",
            parameter=parameter,
        )
    seconds = int(text)
    check_seconds(seconds, parameter)
    return seconds


def _stored_size(value: Any) -> tuple[int, int] | None:
    text = _text(value)
    if not text:
        return None
    width, _, height = text.partition("x")
    return int(width), int(height)


def image_url_of(fields: Mapping[str, Any]) -> str:
    """The image URL a request names, under any of its aliases ('' if none is text)."""
    for name in IMAGE_URL_ALIASES:
        value = _text(fields.get(name))
        if value:
            return value
    return ""


def check_upload(size: int) -> None:
    """Refuse an empty or oversized uploaded image before it is stored."""
    if size > MAX_IMAGE_BYTES:
        raise TooLarge(
            f"Request parameter [{UPLOAD_PARAM}] is {size} bytes; at most 20 MB are accepted",
            parameter=UPLOAD_PARAM,
        )
    if size == 0:
        raise InputError(
            f"Request parameter [{UPLOAD_PARAM}] is an empty file", parameter=UPLOAD_PARAM
        )


def parse_seed(value: Any) -> int | None:
    """A seed as an integer; None when none was given. Refuses anything but a decimal integer of
    at most `MAX_SEED_DIGITS` ASCII digits (so "²", "--5" or 5000 digits fail at Run)."""
    text = _text(value) if not isinstance(value, int) else str(value)
    if not text:
        return None
    if not _SEED.fullmatch(text):
        raise InputError(
            f"Request parameter [{SEED.name}] must be an integer, got {text!r}",
            parameter=SEED.name,
        )
    return int(text)


def check_text(value: Any, parameter: str, limit: int = MAX_TEXT) -> str:
    """`value` as text that a store, a log and a JSON answer can all hold: valid Unicode (JSON
    may smuggle a lone surrogate in as "\\ud800"), without NUL, at most `limit` characters."""
    if not isinstance(value, str):
        raise InputError(f"Request parameter [{parameter}] must be text", parameter=parameter)
    if len(value) > limit:
        raise InputError(
            f"Request parameter [{parameter}] is {len(value)} characters; "
            f"at most {limit} are accepted",
            parameter=parameter,
        )
    if "\x00" in value or not _encodable(value):
        raise InputError(
            f"Request parameter [{parameter}] is not valid Unicode text "
            "(a lone surrogate or a NUL character)",
            parameter=parameter,
        )
    return value


def check_fields(fields: Mapping[str, Any]) -> None:
    """Every text field of a parsed body is valid Unicode and within `MAX_TEXT`, whether read or
    ignored later (field names included): what the door lets in, every later step can hold."""
    for name, value in fields.items():
        if len(name) > 256 or "\x00" in name or not _encodable(name):
            raise InputError(
                "Request body has a field name that is not valid Unicode text or is longer "
                "than 256 characters",
                parameter="body",
            )
        if isinstance(value, str):
            limit = max(MAX_TEXT, MAX_PROMPT, MAX_URL)
            check_text(value, name, limit)


def load_json(raw: bytes | str) -> Any:
    """A JSON document nested at most `MAX_JSON_DEPTH` deep; InputError for anything else (the
    parser's own recursion limit is never reached)."""
    text = raw.decode("utf-8", errors="replace") if isinstance(raw, bytes) else raw
    if _depth(text) > MAX_JSON_DEPTH:
        raise InputError(
            f"Request body nests JSON more than {MAX_JSON_DEPTH} levels deep", parameter="body"
        )
    try:
        return json.loads(text)
    except (ValueError, RecursionError):
        raise InputError("Request body is not valid JSON", parameter="body") from None


def parse_task_id(raw: Any) -> int:
    """A task id as the store holds it; NotFound for anything that cannot name a task (a
    non-ASCII digit such as "²", a sign, more than 18 digits)."""
    text = raw.strip() if isinstance(raw, str) else str(raw)
    if not (text.isascii() and text.isdigit()) or len(text) > MAX_TASK_ID_DIGITS:
        raise NotFound("There is no task yet.")
    return int(text)


def token_ok(value: str) -> bool:
    """Whether `value` could be a socket access token (ASCII letters and digits, bounded)."""
    return 0 < len(value) <= MAX_TOKEN and value.isascii() and value.isalnum()


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _depth(text: str) -> int:
    """The deepest nesting of [ and { in a JSON text, strings skipped (linear, no recursion)."""
    depth = deepest = 0
    in_string = escaped = False
    for char in text:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in "]}":
            depth -= 1
    return deepest


#: Checks a URL against the server's fetch rules, raising InputError naming the parameter.
UrlCheck = Callable[[str, str], None]


def parse_run(
    fields: Mapping[str, Any], *, upload_size: int | None = None, check_url: UrlCheck | None = None
) -> RunInput:
    """Check Wiro-named Run fields (any dialect's request, renamed) and return the input.

    `upload_size` is the uploaded image's size (None: no upload, so an image URL is required).
    `check_url(url, parameter)` applies the server's fetch rules to the callback and image URLs.
    """
    check_fields(fields)
    framing = parse_framing(fields.get(FRAMING.name))
    callback = str(fields.get(CALLBACK.name) or "").strip()
    if callback:
        check_text(callback, CALLBACK.name, MAX_URL)
    if callback and check_url is not None:
        check_url(callback, CALLBACK.name)
    url = ""
    if upload_size is not None:
        check_upload(upload_size)
    else:
        url = image_url_of(fields)
        if not url:
            raise InputError(f"Request parameter [{IMAGE_PARAM}] required", parameter=IMAGE_PARAM)
        check_text(url, IMAGE_PARAM, MAX_URL)
        if check_url is not None:
            check_url(url, IMAGE_PARAM)
    prompt = fields.get(PROMPT.name)
    if prompt is not None and not isinstance(prompt, str):
        raise InputError(f"Request parameter [{PROMPT.name}] must be text", parameter=PROMPT.name)
    if prompt:
        check_text(prompt, PROMPT.name, MAX_PROMPT)
    seed = _text(fields.get(SEED.name))
    parse_seed(seed)
    voice = _text(fields.get(VOICE.name)).lower()
    if voice and voice not in VOICES:
        raise InputError(
            f"Request parameter [{VOICE.name}] is {voice[:40]!r}; choose one of "
            + ", ".join(VOICES),
            parameter=VOICE.name,
        )
    audio_url = _text(fields.get(AUDIO.name))
    if audio_url:
        check_text(audio_url, AUDIO.name, MAX_URL)
        if check_url is not None:
            check_url(audio_url, AUDIO.name)
    return RunInput(
        image_url=url or None,
        prompt=prompt or None,
        seed=seed or None,
        callback_url=callback or None,
        voice=voice or None,
        audio_url=audio_url or None,
        framing=framing,
    )


def parse_framing(value: Any) -> str | None:
    """The `framing` input (`FRAMINGS`, any case), checked; None when not given."""
    if value is not None and not isinstance(value, str):
        raise InputError(
            f"Request parameter [{FRAMING.name}] must be text: one of " + ", ".join(FRAMINGS),
            parameter=FRAMING.name,
        )
    framing = _text(value).lower()
    if framing and framing not in FRAMINGS:
        raise InputError(
            f"Request parameter [{FRAMING.name}] is {framing[:40]!r}; choose one of "
            + ", ".join(FRAMINGS)
            + " (subject frames a small face as a close-up; photo keeps the photo's framing)",
            parameter=FRAMING.name,
        )
    return framing or None


def _text(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""
