"""The json and orjson parsers of the codec give equal events (issue 6), and the
generated structure functions build the same objects as the models' constructors."""

from __future__ import annotations

from collections.abc import Iterator

import attrs
import pytest

from pmsync import codec
from pmsync import models as m
from pmsync.codec import decode

from .test_codec_examples import CAMEL_EXAMPLES, ENDPOINTS, snake_text

CASES = [
    pytest.param(text, endpoint, id=f"{i}-{dialect}-{endpoint}")
    for i, (camel, endpoints) in enumerate(zip(CAMEL_EXAMPLES, ENDPOINTS))
    for endpoint in endpoints
    for dialect, text in (("camel", camel), ("snake", snake_text(camel, endpoint)))
]

needs_orjson = pytest.mark.skipif(codec._orjson_module is None, reason="orjson not installed")


@pytest.fixture
def restore_backend() -> Iterator[None]:
    previous = codec.use_backend("json")
    try:
        yield
    finally:
        codec.use_backend(previous)


def decode_with(backend: str, text: str | bytes, endpoint: str) -> codec.Event:
    previous = codec.use_backend(backend)
    try:
        assert codec.BACKEND == backend
        return decode(text, endpoint)
    finally:
        codec.use_backend(previous)


@needs_orjson
@pytest.mark.parametrize(("text", "endpoint"), CASES)
def test_json_and_orjson_decode_every_example_to_equal_events(text: str, endpoint: str) -> None:
    for frame in (text, text.encode()):
        by_json = decode_with("json", frame, endpoint)
        by_orjson = decode_with("orjson", frame, endpoint)
        assert by_json == by_orjson
        assert repr(by_json) == repr(by_orjson)
        assert codec.to_plain(by_json) == codec.to_plain(by_orjson)


@pytest.mark.usefixtures("restore_backend")
@pytest.mark.parametrize(("text", "endpoint"), CASES)
def test_forced_json_path_decodes_every_example(text: str, endpoint: str) -> None:
    assert codec._orjson is None and codec.BACKEND == "json"
    event = decode(text.encode(), endpoint)
    assert event.kind in codec.KINDS and event.kind != "unknown"


BIG = "123456789012345678901234"  # beyond 64 bits: orjson alone would read a float
BOOK = ('{"request_id":"r","subscription_type":1,"market_data":{"market_slug":"m",'
        '"bids":[{"px":{"value":"0.54","currency":"USD"},"qty":"10"}],"offers":[],"state":1,'
        '"stats":{"shares_traded":"5","high_px":{"value":"0.6"}},'
        '"transact_time":"2024-01-15T10:30:00Z"}}')


@needs_orjson
@pytest.mark.parametrize("text", [
    BOOK,
    BOOK.replace('"qty":"10"', f'"qty":{BIG}'),
    BOOK.replace('"value":"0.54"', f'"value":{BIG}'),
    BOOK.replace('"shares_traded":"5"', f'"shares_traded":{BIG}'),
    BOOK.replace('"value":"0.6"', f'"value":{BIG}'),
    BOOK.replace('"request_id":"r"', f'"request_id":{BIG}'),
    BOOK.replace('"subscription_type":1', f'"subscription_type":{BIG}'),
    BOOK.replace('"state":1', f'"state":{BIG}'),
    BOOK.replace('"market_slug":"m"', f'"market_slug":{BIG}'),
    BOOK.replace('"offers":[]', f'"offers":[],"other":{BIG}'),
    BOOK.replace('"qty":"10"', f'"qty":"10","extra":{BIG}'),
    BOOK.replace('{"request_id"', f'{{"error":{BIG},"request_id"'),
    BOOK.replace('{"request_id"', f'{{"trade":{{"quantity":{{"value":{BIG}}}}},"request_id"'),
    BOOK.replace("market_data", "marketData").replace("market_slug", "marketSlug"),
], ids=lambda text: str(len(text)))
def test_long_integers_anywhere_in_a_book_read_as_json_does(text: str) -> None:
    # A long integer anywhere in a market-data frame (the fast path's payload)
    # gives json's result (or json's error) with orjson too.
    def outcome(backend: str) -> object:
        try:
            event = decode_with(backend, text, "markets")
        except codec.DecodeError as exc:
            return str(exc)
        return event, repr(event), codec.to_plain(event)

    assert outcome("orjson") == outcome("json")


@needs_orjson
def test_long_integer_goes_to_json_on_both_paths() -> None:
    text = '{"request_id":"r","trade":{"quantity":{"value":12345678901234567890123}}}'
    a = decode_with("json", text, "markets")
    b = decode_with("orjson", text, "markets")
    assert a == b
    assert str(a.data.quantity.value) == "12345678901234567890123"


def test_use_backend_rejects_unknown_names() -> None:
    with pytest.raises(ValueError):
        codec.use_backend("simplejson")


def test_use_backend_returns_previous() -> None:
    first = codec.use_backend("json")
    try:
        assert codec.use_backend("json") == "json"
    finally:
        codec.use_backend(first)


@pytest.mark.parametrize(("text", "endpoint"), CASES)
def test_generated_hooks_build_what_the_constructors_build(text: str, endpoint: str) -> None:
    """Every decoded model equals, and reprs like, one rebuilt with its own __init__."""

    def rebuild(value: object) -> object:
        if attrs.has(type(value)):
            kwargs = {f.alias or f.name: rebuild(getattr(value, f.name))
                      for f in attrs.fields(type(value)) if f.init}
            return type(value)(**kwargs)
        if isinstance(value, tuple):
            return tuple(rebuild(v) for v in value)
        if isinstance(value, dict):
            return {k: rebuild(v) for k, v in value.items()}
        return value

    data = decode(text, endpoint).data
    again = rebuild(data)
    assert type(again) is type(data)
    assert again == data
    assert repr(again) == repr(data)


def test_decoded_models_are_frozen() -> None:
    data = decode(CAMEL_EXAMPLES[0], "markets").data
    assert type(data) is m.MarketData
    assert isinstance(data.bids, tuple) and isinstance(data.bids[0], m.BookLevel)
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        data.market_slug = "x"  # type: ignore[misc]
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        data.bids[0].px.value = 1  # type: ignore[misc, union-attr]
