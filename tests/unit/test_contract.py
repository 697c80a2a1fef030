"""The Run contract: one parser for all dialects, aliases, limits, seeds, the published schema."""

from __future__ import annotations

from typing import Any

import pytest

from subject2video import contract
from subject2video.api.openapi import RUN_FIELDS
from subject2video.api.wiro.tool import tool_detail
from subject2video.config import Settings
from subject2video.contract import DEFAULT_PROMPT, RunInput, parse_run, parse_seed
from subject2video.errors import InputError, TooLarge, spelled


@pytest.mark.parametrize("name", ["inputImageFirstUrl", "inputImageUrl", "inputImageFirst"])
def test_every_image_alias_is_the_image_url(name: str) -> None:
    run = parse_run({name: " https://example.com/a.jpg "})
    assert run.image_url == "https://example.com/a.jpg"
    assert run.parameters() == {"inputImageFirstUrl": "https://example.com/a.jpg"}


def test_checks_run_in_order_and_name_the_parameter() -> None:
    checked: list[tuple[str, str]] = []
    fields = {"inputImageUrl": "http://i", "callbackUrl": "http://c", "seed": "-3"}
    run = parse_run(fields, check_url=lambda url, name: checked.append((name, url)))
    assert checked == [("callbackUrl", "http://c"), ("inputImageFirstUrl", "http://i")]
    assert (run.seed, run.seed_value("u")) == ("-3", 2**32 - 3)


@pytest.mark.parametrize(
    ("fields", "size", "parameter", "error"),
    [
        ({}, None, "inputImageFirstUrl", InputError),
        ({"prompt": "x" * 2001}, 10, "prompt", InputError),
        ({"prompt": 5}, 10, "prompt", InputError),
        ({"seed": "1.5"}, 10, "seed", InputError),
        ({}, 0, "inputImageFirst", InputError),
        ({}, contract.MAX_IMAGE_BYTES + 1, "inputImageFirst", TooLarge),
    ],
)
def test_refusals(
    fields: dict[str, Any], size: int | None, parameter: str, error: type[Exception]
) -> None:
    with pytest.raises(error) as raised:
        parse_run(fields, upload_size=size)
    assert isinstance(raised.value, InputError) and raised.value.parameter == parameter
    assert f"[{parameter}]" in raised.value.message


@pytest.mark.parametrize("seed", ["²", "--5", "5" * 21, "0x10", "1e3", " "])
def test_seeds_that_are_not_integers(seed: str) -> None:
    if not seed.strip():
        assert parse_seed(seed) is None
        return
    with pytest.raises(InputError):
        parse_seed(seed)


def test_stored_parameters_read_back() -> None:
    run = RunInput(upload="face.jpg", prompt="nod", seed="9", seconds=10, short_side=1080)
    again = RunInput.from_parameters(run.parameters())
    assert again == run and again.frames == 250
    assert RunInput().prompt_or_default == DEFAULT_PROMPT
    # A task's own seed is stable when the caller gave none.
    assert RunInput().seed_value("abc") == RunInput().seed_value("abc")


def test_tool_detail_and_openapi_read_the_contract(tmp_path: Any) -> None:
    tool = tool_detail(Settings(data_dir=tmp_path))
    assert [p["name"] for p in tool["parameters"]] == [p.name for p in contract.PARAMETERS]
    image = tool["parameters"][0]
    assert image["limits"]["maxbytes"] == contract.MAX_IMAGE_BYTES
    assert image["limits"]["minshortside"] == contract.MIN_SHORT_SIDE
    assert tool["parameters"][1]["limits"] == {"maxlength": contract.MAX_PROMPT}
    assert tool["output"]["frames"] == contract.FRAMES == 150
    assert RUN_FIELDS["prompt"]["maxLength"] == contract.MAX_PROMPT


def test_every_input_is_declared_once_with_each_dialects_name() -> None:
    """INPUTS holds each input once; a dialect's spelling of our names comes from it alone."""
    names = [p.name for p in contract.INPUTS]
    assert len(names) == len(set(names))
    assert all(any(p is q for q in contract.INPUTS) for p in contract.PARAMETERS)
    for param in contract.INPUTS:
        assert set(param.names) <= set(contract.DIALECTS), param.name
    openai = contract.spelling(contract.OPENAI)
    assert openai[contract.IMAGE_PARAM] == openai[contract.UPLOAD_PARAM] == "input_reference"
    subject = contract.spelling(contract.MINIMAX, image=contract.SUBJECT_IMAGE)
    assert subject[contract.UPLOAD_PARAM] == "subject_reference"
    assert contract.spelling(contract.MINIMAX)[contract.CALLBACK.name] == "callback_url"
    assert contract.spelling(contract.WIRO) == {}


@pytest.mark.parametrize("dialect", ["minimax", "openai"])
def test_an_audio_error_names_the_input_as_the_dialect_spells_it(dialect: str) -> None:
    """A contract error about the voice recording reaches a MiniMax or OpenAI caller as
    `audio_url`, the name it sent, in the message and in the parameter."""
    with pytest.raises(InputError) as caught:
        parse_run({contract.IMAGE_PARAM: "https://example.com/f.jpg", "inputAudioUrl": "x" * 5000})
    error = spelled(caught.value, contract.spelling(dialect))
    assert error.parameter == "audio_url"
    assert "[audio_url]" in error.message and "inputAudioUrl" not in error.message


def test_schemas_carry_the_declared_limits() -> None:
    assert contract.PROMPT.schema() == {"type": "string", "maxLength": contract.MAX_PROMPT}
    assert contract.VOICE.schema()["enum"] == list(contract.VOICES)
    assert contract.LENGTH.schema()["minimum"] == contract.SECONDS[0]


def test_openais_error_names_the_audio_input_as_sent() -> None:
    from subject2video.api.openai.wire import openai_error

    with pytest.raises(InputError) as caught:
        parse_run({contract.IMAGE_PARAM: "https://example.com/f.jpg", "inputAudioUrl": "x" * 5000})
    body = openai_error(caught.value).body()["error"]
    assert body["param"] == "audio_url" and "[audio_url]" in body["message"], body
