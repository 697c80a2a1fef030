"""Reading motion words from a prompt: one vocabulary for the portrait planner and the evaluator.

A prompt is cut into clauses (at punctuation and at "and", "while", "then", "as"); each clause may
name motions, a direction (left and right are screen left and right, as the viewer sees them) and
speed or intensity words, which apply to the motions of their own clause only. "dramatic shadows"
therefore changes nothing, while "dramatically turns left" makes a bigger turn.

Example::

    [m.kind for m in read_prompt("She smiles and slowly turns her head to the left")]
    # ['smile', 'turn_left']
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

#: Motion kinds with a direction: the kind is `<verb>_<direction>`.
DIRECTIONAL = {
    "turn": ("left", "right"),
    "look": ("up", "down"),
    "tilt": ("left", "right"),
    "pan": ("left", "right"),
    "wink": ("left", "right"),
}

#: Every kind the reader can return, with the words that name it (regular expressions).
_VERBS: list[tuple[str, str]] = [
    (
        "static",
        r"static|locked[- ]off|locked down|fixed camera|still camera|tripod|"
        r"camera (?:stays|remains|is) (?:still|static|fixed)|no camera (?:move|motion)",
    ),
    (
        "push_in",
        r"push(?:es|ing)? in|zoom(?:s|ing)? in|dolly(?:ing)? in|dollies in|"
        r"mov(?:es|ing)? (?:in )?closer|punch(?:es)? in|creeps? in",
    ),
    (
        "pull_out",
        r"pull(?:s|ing)? (?:out|back|away)|zoom(?:s|ing)? out|dolly(?:ing)? out|"
        r"dollies out|dollies back|pulls away|widens",
    ),
    ("pan", r"pan(?:s|ning|ned)?"),
    ("no_blink", r"without blinking|(?:does not|doesn't|never) blink|unblinking|stares?|staring"),
    ("hold_breath", r"holds? (?:her|his|their|a) breath|holding (?:her|his|their) breath"),
    ("still", r"perfectly still|motionless|frozen|stays? still|remains? still|keeps? still"),
    ("quiet", r"(?:mouth|lips) (?:stays? |remains? |kept )?(?:closed|shut)|silent(?:ly)?"),
    ("blink", r"blink(?:s|ing|ed)?"),
    ("wink", r"wink(?:s|ing|ed)?"),
    ("laugh", r"laugh(?:s|ing|ed|ter)?|giggl\w*|chuckl\w*"),
    ("smile", r"smil\w*|grin\w*|beam(?:s|ing)?"),
    ("frown", r"frown\w*|scowl\w*|sad(?:ly|ness)?|sulk\w*"),
    (
        "talk",
        r"talk\w*|speak\w*|says?|saying|chat\w*|sing(?:s|ing)?|explain\w*|tell(?:s|ing)?|"
        r"whisper\w*|convers\w*|lip[- ]?sync\w*|mouth(?:s|ing)? words",
    ),
    (
        "surprise",
        r"surpris\w*|shock\w*|astonish\w*|amaz\w*|gasp\w*|"
        r"rais(?:es|ing|ed)? (?:her|his|their) (?:eye)?brows|wide[- ]eyed",
    ),
    ("nod", r"nod(?:s|ding|ded)?"),
    ("shake", r"shak(?:es|ing) (?:her|his|their|the) head|head ?shake"),
    (
        "tilt",
        r"tilt(?:s|ing|ed)?|cock(?:s|ing)? (?:her|his|their) head|"
        r"lean(?:s|ing)? (?:her|his|their) head",
    ),
    ("walk", r"walk(?:s|ing|ed)?|strid(?:e|es|ing)|stroll\w*|march\w*|steps? forward"),
    ("sway", r"sway\w*|rock(?:s|ing)? (?:gently|slowly|back)"),
    ("breathe", r"breath\w*|sigh\w*|inhal\w*|exhal\w*"),
    ("turn", r"turn(?:s|ing|ed)?|rotat\w*|swivel\w*|glanc\w*"),
    (
        "look",
        r"look(?:s|ing|ed)?|gaz(?:e|es|ing)|peer\w*|"
        r"rais(?:es|ing)? (?:her|his|their) (?:head|chin)|"
        r"lower(?:s|ing)? (?:her|his|their) (?:head|chin|gaze)|glanc\w*",
    ),
]
_VERB_RES = [(kind, re.compile(rf"\b(?:{words})\b")) for kind, words in _VERBS]

_SLOW = re.compile(r"\b(?:slow(?:ly)?|gradual(?:ly)?|leisurely|lazily|unhurried(?:ly)?)\b")
_FAST = re.compile(
    r"\b(?:quick(?:ly)?|fast|rapid(?:ly)?|sudden(?:ly)?|brisk(?:ly)?|swift(?:ly)?)\b"
)
_GENTLE = re.compile(
    r"\b(?:gentl[ey]|subtl[ey]|slight(?:ly)?|soft(?:ly)?|a little|barely|faint(?:ly)?|small)\b"
)
_STRONG = re.compile(
    r"\b(?:dramatic(?:ally)?|big|broad(?:ly)?|wide(?:ly)?|vigorous(?:ly)?|energetic(?:ally)?|"
    r"exaggerated(?:ly)?|strong(?:ly)?|hard|deep(?:ly)?|sharp(?:ly)?|far)\b"
)
_DIRECTION = re.compile(r"\b(left|right|up|upward|upwards|down|downward|downwards)\b")
_SPLIT = re.compile(r"[.,;:!?]+|\b(?:and|while|then|as|before|after|until|with)\b")
#: The same, keeping the separators (odd items of `split`).
_SPLIT_KEEP = re.compile(f"({_SPLIT.pattern})")
#: Separators after which the next clause's motions come later ("she smiles, then turns"; "he
#: nods before he smiles"), and words that open such a clause ("afterwards, she turns"; "after
#: that" and "after a moment" are "after" with a clause that opens so). "After" before an event
#: turns the order round ("she turns after she smiles": the smile first), and "while" or "as"
#: join clauses: their motions run together.
_SEQUENCE = frozenset({"then", "before"})
_LATER = re.compile(
    r"(?:afterwards?|next|finally|later|eventually|subsequently|followed by|in the end)\b"
)
_AFTER_THAT = re.compile(r"(?:that|this|which|a (?:moment|pause|beat|second|while))\b")
_CAMERA = re.compile(r"\b(?:camera|shot|lens|frame|view|zoom\w*|dolly|pan\w*)\b")
_LOOK_VERBS = ("turn", "look", "tilt", "pan", "wink")


def _words(text: str) -> set[str]:
    return set(text.split())


#: Things in the scene, or worn or grown by the person, that can be the subject of a motion word:
#: the motion is then theirs, not the person's ("their fronds swaying gently", in the seed's own
#: prompt, swayed the woman; "her hair sways" would sway her whole body).
_SCENE_SUBJECTS = _words(
    "tree trees palm palms frond fronds leaf leaves branch branches grass flower flowers "
    "flag flags curtain curtains wave waves water sea ocean river cloud clouds bird birds "
    "car cars traffic smoke flame flames candle candles shadow shadows "
    "hair ponytail curls dress skirt scarf coat cape veil ribbon balloon balloons "
    "crowd background city street"
)
#: Words skipped on the way back from a motion word to its subject ("trees that gently sway").
_BETWEEN = _words("that which who are is was were still also slowly gently softly all")


@dataclass(frozen=True)
class Motion:
    """One motion a prompt names, with its clause's speed and intensity factors."""

    #: For example "turn_left", "nod", "push_in" (see `KINDS`).
    kind: str
    #: Duration factor: above 1 is slower ("slowly"), below 1 quicker ("quickly").
    slowness: float = 1.0
    #: Amplitude factor: below 1 is gentler ("subtly"), above 1 stronger ("dramatically").
    intensity: float = 1.0
    #: The words that named it.
    words: str = ""
    #: For a bracketed camera instruction: its place in the prompt's sequence of brackets
    #: (instructions in one bracket share it and run together); None for words.
    step: int | None = None
    #: For words: their place in the prompt's sequence ("he looks down, then turns": 0, then
    #: 1). Motions of one stage run together; the stages follow each other.
    stage: int = 0


def _direction(text: str, verb: str) -> str | None:
    """The direction word in `text` that fits `verb` (left/right or up/down), if any."""
    wanted = DIRECTIONAL.get(verb, ())
    for match in _DIRECTION.finditer(text):
        word = match.group(1).removesuffix("wards").removesuffix("ward")
        if word in wanted:
            return word
        if verb == "turn" and word in ("up", "down"):
            return word  # "turns her face up" is a look up
        if verb == "look" and word in ("left", "right"):
            return word
    return None


def _modifiers(clause: str) -> tuple[float, float]:
    slowness = 1.6 if _SLOW.search(clause) else 0.6 if _FAST.search(clause) else 1.0
    intensity = 0.6 if _GENTLE.search(clause) else 1.5 if _STRONG.search(clause) else 1.0
    return slowness, intensity


def _clause_motions(
    clause: str, previous: str | None, carried: tuple[float, float]
) -> tuple[list[Motion], str | None]:
    """The motions one clause names; a bare "to the right" repeats the previous verb."""
    slowness, intensity = _modifiers(clause)
    slowness = slowness if slowness != 1.0 else carried[0]
    intensity = intensity if intensity != 1.0 else carried[1]
    found: list[tuple[int, str, str]] = []
    taken: list[tuple[int, int]] = []
    for kind, pattern in _VERB_RES:
        for match in pattern.finditer(clause):
            span = match.span()
            if any(a < span[1] and span[0] < b for a, b in taken):
                continue
            if kind == "pan" and not _CAMERA.search(clause):
                continue
            if _scene_subject(clause[: span[0]]):
                continue
            if kind == "still" and _CAMERA.search(clause):
                kind = "static"
            taken.append(span)
            found.append((span[0], kind, match.group(0)))
    if not found and previous and _direction(clause, previous):
        found.append((0, previous, clause.strip()))
    motions = []
    last = previous
    for _, verb, words in sorted(found):
        kind = verb
        if verb in DIRECTIONAL or verb == "look":
            direction = _direction(clause, verb)
            if verb == "turn" and direction in ("up", "down"):
                verb = "look"
            if verb == "look" and direction in ("left", "right"):
                verb = "turn"
            if direction is None and verb == "look":
                continue  # "looks at the camera": no motion named
            # Without a direction the kind is the bare verb: either way will do.
            kind = verb if direction is None else f"{verb}_{direction}"
        if verb in _LOOK_VERBS:
            last = verb
        motions.append(Motion(kind, slowness, intensity, words))
    return motions, last


def _scene_subject(before: str) -> bool:
    """Whether the words right before a motion word (in its clause) make a thing of the scene
    its subject (`_SCENE_SUBJECTS`)."""
    for word in reversed(re.findall(r"[a-z]+", before)):
        if word in _BETWEEN or word.endswith("ly"):
            continue
        return word in _SCENE_SUBJECTS
    return False


def _only_modifiers(clause: str) -> bool:
    """Whether a clause holds nothing but speed or intensity words ("slowly", "very gently")."""
    rest = clause
    for pattern in (_SLOW, _FAST, _GENTLE, _STRONG):
        rest = pattern.sub(" ", rest)
    return not (set(rest.split()) - {"she", "he", "they", "very", "so", "quite", "and"})


#: MiniMax's bracketed camera instructions (English and Chinese) -> motion kind. Up to three may
#: share a bracket ("[Pan left, Pedestal up]"): they run together; brackets run in turn.
DIRECTIVES: dict[str, str] = {
    "truck left": "truck_left", "truck right": "truck_right",
    "pan left": "pan_left", "pan right": "pan_right",
    "push in": "push_in", "pull out": "pull_out",
    "pedestal up": "pedestal_up", "pedestal down": "pedestal_down",
    "tilt up": "cam_tilt_up", "tilt down": "cam_tilt_down",
    "zoom in": "zoom_in", "zoom out": "zoom_out",
    "shake": "cam_shake", "tracking shot": "tracking", "static shot": "static",
    "左移": "truck_left", "右移": "truck_right", "左摇": "pan_left", "右摇": "pan_right",
    "推进": "push_in", "拉远": "pull_out", "上升": "pedestal_up", "下降": "pedestal_down",
    "上摇": "cam_tilt_up", "下摇": "cam_tilt_down", "变焦推近": "zoom_in", "变焦拉远": "zoom_out",
    "晃动": "cam_shake", "跟随": "tracking", "固定": "static",
}  # fmt: skip
_BRACKET = re.compile(r"\[([^\[\]]{1,80})\]")


def read_directives(prompt: str) -> tuple[list[Motion], str]:
    """The bracketed camera instructions of a prompt, and the prompt without them.

    A bracket that holds no known instruction is left in the text as it was.
    """
    motions: list[Motion] = []
    step = 0

    def take(match: re.Match[str]) -> str:
        nonlocal step
        names = [" ".join(n.lower().split()) for n in re.split("[,\uff0c\u3001]", match.group(1))]
        kinds = [DIRECTIVES[n] for n in names if n in DIRECTIVES]
        if not kinds:
            return match.group(0)
        for kind, name in zip(kinds, [n for n in names if n in DIRECTIVES], strict=True):
            motions.append(Motion(kind, words=f"[{name}]", step=step))
        step += 1
        return ". "

    text = _BRACKET.sub(take, prompt)
    return motions, text


def read_prompt(prompt: str) -> list[Motion]:
    """The motions a prompt names, in the order it names them (duplicates kept once); bracketed
    camera instructions first, in their own order."""
    directed, prompt = read_directives(prompt)
    text = " ".join(prompt.lower().replace("\u2019", "'").split())
    motions: list[Motion] = []
    for motion in directed:
        if all(m.kind != motion.kind for m in motions):
            motions.append(motion)
    worded = len(motions)
    previous: str | None = None
    carried = (1.0, 1.0)
    # The stage a clause's motions belong to: one more after "then" (or the like) once the
    # stage so far has a motion.
    stage, staged, later, after = 0, False, False, False
    parts = _SPLIT_KEEP.split(text)
    for i, clause in enumerate(parts):
        if i % 2:
            later = later or clause.strip() in _SEQUENCE
            after = clause.strip() == "after"
            continue
        if not clause or not clause.strip():
            continue
        opener = clause.strip()
        event = after and not _AFTER_THAT.match(opener)
        if later or _LATER.match(opener) or (after and not event):
            stage += staged
            staged = later = False
        found, previous = _clause_motions(clause, previous, carried)
        # "slowly and gently, she turns": words in a clause without a motion go to the next.
        carried = _modifiers(clause) if not found and _only_modifiers(clause) else (1.0, 1.0)
        new: list[Motion] = []
        for motion in found:
            if all(motion.kind != m.kind for m in [*motions, *new]):
                new.append(motion)
        first = bool(event and new and staged)
        if first:
            # "She turns after she smiles": the smile first, then this stage's motions so far
            # (the bracketed directions keep their place).
            motions[worded:] = [
                replace(m, stage=m.stage + 1) if m.stage == stage else m for m in motions[worded:]
            ]
        elif event and new:
            later = True  # "After she smiles, she turns": the clauses after it follow.
        motions.extend(replace(m, stage=stage) for m in new)
        stage += first
        staged = staged or bool(new)
    # "winks ... with her left eye" names the wink twice: keep the directed one.
    kinds = {m.kind for m in motions}
    return [m for m in motions if not any(k.startswith(m.kind + "_") for k in kinds)]


#: Every motion kind the reader returns.
KINDS = sorted(
    {k for k, _ in _VERBS if k != "look"}
    | {f"{verb}_{d}" for verb, ds in DIRECTIONAL.items() for d in ds}
    | set(DIRECTIVES.values())
)


# -- Spoken lines --------------------------------------------------------------------------------
#
# A line in quotes is spoken when a speaking verb whose subject is the person introduces it
# (`She says: "Welcome."`, `He whispers, “I know.”`) or follows it (`"Hi," she says.`). Quotes
# elsewhere (`a sign that says "SALE"`, a title) are not spoken. `mouths "wow"` moves the lips
# without sound. The subject of a verb is the clause's first noun or pronoun, or, after "that",
# "which" or "who", the noun before it; a clause without one ("... and says") takes the previous
# clause's subject.

#: Speaking verbs -> how the line is said. "mouth" is silent.
SPEAKING: dict[str, str] = {
    "say": "say", "says": "say", "said": "say", "saying": "say",
    "ask": "ask", "asks": "ask", "asked": "ask", "asking": "ask",
    "shout": "shout", "shouts": "shout", "shouted": "shout", "shouting": "shout",
    "yell": "shout", "yells": "shout", "yelled": "shout", "yelling": "shout",
    "exclaim": "shout", "exclaims": "shout", "exclaimed": "shout",
    "whisper": "whisper", "whispers": "whisper", "whispered": "whisper", "whispering": "whisper",
    "murmur": "whisper", "murmurs": "whisper",
    "reply": "say", "replies": "say", "replied": "say", "answers": "say", "answered": "say",
    "tell": "say", "tells": "say", "speaks": "say", "announces": "say", "greets": "say",
    "mouth": "mouth", "mouths": "mouth", "mouthed": "mouth", "mouthing": "mouth",
    "lip-syncs": "mouth", "lipsyncs": "mouth",
}  # fmt: skip


_PRONOUNS = {"she", "he", "they", "i", "you", "we"}
_PEOPLE = _words(
    "woman man person girl boy lady gentleman guy child kid baby teenager teen grandmother "
    "grandfather grandma grandpa mother father mom mum dad son daughter wife husband friend "
    "subject speaker presenter host narrator actor actress astronaut scientist doctor nurse "
    "teacher student soldier officer chef king queen prince princess farmer worker singer "
    "model employee customer seller shopkeeper anchor reporter admiral captain people "
    "women men portrait character figure avatar"
)
_THINGS = _words(
    "sign signs title titles caption label banner poster board billboard placard screen tv "
    "book note letter card shirt t-shirt tshirt mug cup logo text headline newspaper page "
    "message slogan inscription plaque sticker tag menu song film movie album show painting "
    "picture photo photograph image frame wall door box bag cap hat jacket speech bubble "
    "phone display computer laptop notice"
)
_RELATIVE = {"that", "which", "who", "whom"}
_QUOTE = re.compile(
    r"\"([^\"]{1,2000})\"|\u201c([^\u201c\u201d]{1,2000})[\u201d\"]|\u2018([^\u2018\u2019]{1,2000})\u2019"
    r"|(?<![\w])'((?:[^'\n]|(?<=\w)'(?=\w)){1,2000})'(?![\w])"
)
_WORD = re.compile(r"[A-Za-z\u00c0-\u024f][\w\u2019'-]*")
_CLAUSE_BREAK = re.compile(r"[.!?;]\s|[,:]\s|\b(?:and|then|while|but|before|after)\b", re.I)
_SENTENCE_BREAK = re.compile(r"[.!?;]\s")
_FILLER = re.compile(
    r"^(?:\s|[,:\u2014\u2013-]|\b(?:\w+ly|out|aloud|out loud|to (?:the|her|his|their|a|an|"
    r"me|us|you|them|him) ?\w*(?: \w+)?|into the (?:camera|microphone|mic)|again|then|"
    r"the words?|words|something like|in a \w+(?: \w+)? voice|with a \w+)\b)*$",
    re.I,
)


@dataclass(frozen=True)
class Line:
    """One quoted line the person says (or only mouths)."""

    text: str
    #: "say", "ask", "shout", "whisper" or "mouth" (lips move, no sound).
    manner: str
    #: Where the quote stands in the prompt (start, end), quotes included.
    span: tuple[int, int]

    @property
    def voiced(self) -> bool:
        return self.manner != "mouth"


def _kind(word: str) -> str | None:
    """ "person", "thing", or None for a word that names neither."""
    low = word.lower().replace("\u2019", "'")
    if low.endswith("'s"):
        return None  # "her mother's sign": the possessor is not the subject
    if low in _PRONOUNS or low in _PEOPLE:
        return "person"
    if low in _THINGS:
        return "thing"
    if word[:1].isupper() and low not in _COMMON_CAPITALS and low not in SPEAKING:
        return "person"  # a name: "Grace says"
    return None


_COMMON_CAPITALS = {
    "a", "an", "the", "this", "that", "in", "on", "at", "with", "slowly", "then", "and", "now",
    "close", "portrait", "camera", "smiling", "looking", "finally", "suddenly", "softly",
    "quietly", "gently", "here", "there", "after", "before", "while", "when", "as", "his",
    "her", "their", "its", "my", "our", "your", "static", "cinematic", "photo",
}  # fmt: skip


def _subject(before: str) -> str | None:
    """The kind ("person"/"thing") of the subject of a verb, given the sentence before it."""
    clauses = _CLAUSE_BREAK.split(before)
    words = _WORD.findall(clauses[-1])
    if words and words[-1].lower() in _RELATIVE:
        # "a sign that says", "the woman who says": the noun before the relative pronoun.
        for word in reversed(words[:-1]):
            kind = _kind(word)
            if kind:
                return kind
        return None
    for clause in reversed(clauses):
        for word in _WORD.findall(clause):
            kind = _kind(word)
            if kind:
                return kind
        # A clause without a subject ("... and says") takes the one before it.
    return None


def read_lines(prompt: str) -> list[Line]:
    """The quoted lines the person says or mouths, in the prompt's order."""
    lines: list[Line] = []
    for match in _QUOTE.finditer(prompt):
        text = next(g for g in match.groups() if g is not None).strip().rstrip(",;:")
        if not text:
            continue
        start, end = match.span()
        head = prompt[:start]
        sentence = _SENTENCE_BREAK.split(head)[-1]
        manner = _manner_before(sentence)
        if manner is None:
            manner = _manner_after(prompt[end:])
        if manner is not None:
            lines.append(Line(text, manner, (start, end)))
    return lines


def _manner_before(sentence: str) -> str | None:
    """`She says: "..."`: a speaking verb, then only adverbs and the like, then the quote."""
    words = list(_WORD.finditer(sentence))
    for index in range(len(words) - 1, -1, -1):
        word = words[index]
        manner = SPEAKING.get(word.group(0).lower())
        if manner is None:
            continue
        if not _FILLER.match(sentence[word.end() :]):
            return None
        return manner if _subject(sentence[: word.start()]) == "person" else None
    return None


_AFTER = re.compile(
    r"^\s*[,.!?\u2014-]*\s*([\w\u2019' ]{1,60}?)\s*[.,;!?]"
    r"|^\s*[,.!?\u2014-]*\s*([\w\u2019' ]{1,60})$"
)


def _manner_after(rest: str) -> str | None:
    """`"...," she says` or `"...," says the man`: the verb and its subject right after."""
    match = _AFTER.match(rest)
    if not match:
        return None
    words = (match.group(1) or match.group(2) or "").split()
    verbs = [i for i, w in enumerate(words) if w.lower() in SPEAKING]
    if not verbs or len(words) > 6:
        return None
    i = verbs[0]
    others = words[:i] + words[i + 1 :]
    if any(_kind(w) == "person" for w in others):
        return SPEAKING[words[i].lower()]
    return None


def without_lines(prompt: str) -> str:
    """The prompt with every quoted passage cut out, for reading motions: the words of a line
    ("I love to smile") do not direct the face; the rest of the prompt does."""
    return _QUOTE.sub(" ", prompt)
