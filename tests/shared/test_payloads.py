from __future__ import annotations

from typing import Any

import pytest

from central.errors import FeedFormatError
from central.payloads import feature_collection, json_type, load_json


@pytest.mark.parametrize(
    ("value", "name"),
    [
        ({}, "object"),
        ([], "array"),
        ("x", "string"),
        (1, "number"),
        (1.5, "number"),
        (True, "boolean"),
        (None, "null"),
        ({1}, "set"),
    ],
    ids=["object", "array", "string", "int", "float", "boolean", "null", "set"],
)
def test_json_type_returns_json_name_of_each_type(value: Any, name: str) -> None:
    assert json_type(value) == name


def test_load_json_returns_document_when_body_is_json() -> None:
    assert load_json(b'{"features": [1, 2.5, null]}', "usgs") == {
        "features": [1, 2.5, None]
    }


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"", r"^usgs payload is not JSON: Expecting value: line 1 column 1"),
        (b"<html>\n<body>502</body>", r"^usgs payload is not JSON: Expecting value"),
        (b'{"mag": NaN}', r"^usgs payload is not JSON: NaN is not a JSON number$"),
        (b"[-Infinity]", r"^usgs payload is not JSON: -Infinity is not a JSON"),
        (b'["\xff"]', r"^usgs payload is not JSON: 'utf-8' codec can't decode"),
        (b"[" * 100_000, r"^usgs payload is not JSON: "),
    ],
    ids=["empty", "html", "nan", "infinity", "not-utf-8", "too-deep"],
)
def test_load_json_raises_feed_format_error_when_body_is_not_json(
    body: bytes, message: str
) -> None:
    with pytest.raises(FeedFormatError, match=message):
        load_json(body, "usgs")


def test_load_json_raises_one_line_message_when_reason_spans_lines() -> None:
    with pytest.raises(FeedFormatError) as caught:
        load_json(b'{\n  "a": 1,\n  ]', "gdacs")

    assert "\n" not in str(caught.value)


def test_feature_collection_returns_features_without_checking_them() -> None:
    document = {"type": "FeatureCollection", "features": [{"type": "Feature"}, 7]}

    assert feature_collection(document, "gdacs") == [{"type": "Feature"}, 7]


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ([], r"^gdacs payload is a JSON array, not an object$"),
        (
            {"type": "Feature", "features": []},
            r"^gdacs payload type is 'Feature', not 'FeatureCollection'$",
        ),
        ({"features": []}, r"^gdacs payload type is None, not 'FeatureCollection'$"),
        (
            {"type": "FeatureCollection", "features": {}},
            r"^gdacs payload has no features array$",
        ),
    ],
    ids=["array", "feature", "no-type", "features-object"],
)
def test_feature_collection_raises_feed_format_error_when_not_a_collection(
    document: Any, message: str
) -> None:
    with pytest.raises(FeedFormatError, match=message):
        feature_collection(document, "gdacs")
