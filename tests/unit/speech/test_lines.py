"""Which quoted lines a prompt speaks: a speaking verb whose subject is the person."""

from __future__ import annotations

import itertools

import pytest

from subject2video.prompts import read_lines, read_prompt, without_lines

SUBJECTS = ["She", "He", "The woman", "The old man in the photo", "Grace Hopper", "They"]
VERBS = {"says": "say", "asks": "ask", "shouts": "shout", "whispers": "whisper"}
QUOTES = [('"', '"'), ("\u201c", "\u201d"), ("\u2018", "\u2019")]
LEADS = ["", ":", ",", " softly", " quietly to the camera,", " again:"]


@pytest.mark.parametrize(
    ("subject", "verb", "quotes", "lead"),
    list(itertools.product(SUBJECTS, VERBS, QUOTES, LEADS)),
)
def test_a_person_speaking_a_line_is_read_in_every_spelling(
    subject: str, verb: str, quotes: tuple[str, str], lead: str
) -> None:
    prompt = f"{subject} {verb}{lead} {quotes[0]}Welcome to our shop.{quotes[1]}"
    lines = read_lines(prompt)
    assert [(line.text, line.manner) for line in lines] == [("Welcome to our shop.", VERBS[verb])]


@pytest.mark.parametrize("subject", ["she", "he", "the man", "Ada"])
@pytest.mark.parametrize("verb", list(VERBS))
def test_a_line_before_its_speaker_is_read(subject: str, verb: str) -> None:
    lines = read_lines(f'"Good morning," {subject} {verb}, smiling.')
    assert [(line.text, line.manner) for line in lines] == [("Good morning", VERBS[verb])]
    lines = read_lines(f'"Good morning," {verb} {subject}.')
    assert [line.text for line in lines] == ["Good morning"]


@pytest.mark.parametrize(
    "prompt",
    [
        'A woman holds a sign that says "SALE"',
        'She stands in front of a banner which says "OPEN"',
        'A poster titled "Jaws" hangs behind him',
        'The book "War and Peace" lies on the table',
        'He wears a T-shirt that says "NASA" and smiles',
        'She turns left. The sign says "CLOSED"',
        'The caption reads "Summer 1962"',
        'A portrait, "The Admiral", in oil',
        "Her mug says \u201cWorld\u2019s best mom\u201d",
        'Text on the screen says "Loading"',
    ],
)
def test_quotes_that_the_person_does_not_say_are_not_spoken(prompt: str) -> None:
    assert read_lines(prompt) == []


def test_a_line_after_a_quote_that_is_not_said_is_still_read() -> None:
    lines = read_lines('She holds a sign that says "SALE" and says "Come in, we are open."')
    assert [(line.text, line.manner) for line in lines] == [("Come in, we are open.", "say")]


def test_a_verb_with_an_earlier_subject_speaks() -> None:
    lines = read_lines('She smiles, turns to the camera and then asks "Are you ready?"')
    assert [(line.text, line.manner) for line in lines] == [("Are you ready?", "ask")]


@pytest.mark.parametrize("verb", ["mouths", "silently mouths", "lip-syncs"])
def test_mouthed_words_move_the_lips_without_sound(verb: str) -> None:
    (line,) = read_lines(f'She {verb} "wow"')
    assert line.text == "wow" and line.manner == "mouth" and not line.voiced


def test_several_lines_keep_their_order_and_manner() -> None:
    lines = read_lines('He says "Hello." Then he whispers: "It is a secret." She mouths "wow".')
    assert [(line.manner, line.text) for line in lines] == [
        ("say", "Hello."),
        ("whisper", "It is a secret."),
        ("mouth", "wow"),
    ]


def test_apostrophes_inside_a_single_quoted_line_stay() -> None:
    assert [line.text for line in read_lines("She says 'don't worry, it's fine'")] == [
        "don't worry, it's fine"
    ]


def test_the_words_of_a_line_do_not_direct_the_face_and_the_rest_does() -> None:
    prompt = 'She turns her head to the left and says "I love to smile and nod."'
    kinds = [m.kind for m in read_prompt(without_lines(prompt))]
    assert "turn_left" in kinds
    assert "smile" not in kinds and "nod" not in kinds
