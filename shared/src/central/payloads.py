"""Reading a fetched JSON payload into the document its records come from.

Every function here raises :class:`~central.errors.FeedFormatError`, with a one-line
message that starts with the provider's name, when the payload is not a document of
the feed at all.  Whether each record in it is usable is left to the normalizer, so
that one bad record costs only itself.
"""

from __future__ import annotations

import json
from typing import Any, Final, NoReturn

from central.errors import FeedFormatError

_JSON_TYPES: Final[dict[type, str]] = {
    dict: "object",
    list: "array",
    str: "string",
    int: "number",
    float: "number",
    bool: "boolean",
    type(None): "null",
}


def json_type(value: Any) -> str:
    """What JSON calls the type of ``value``: object, array, string, number...

    A Python value that JSON has no type for is named by its class (``set``).
    """
    return _JSON_TYPES.get(type(value), type(value).__name__)


def load_json(body: bytes, provider: str) -> Any:
    """The JSON document in ``body``.

    ``NaN``, ``Infinity`` and ``-Infinity``, which Python's parser takes by default,
    are not JSON and are refused.  A body that is not JSON, or nests deeper than the
    parser can follow, raises FeedFormatError as ``<provider> payload is not JSON:
    <reason>``, the parser's reason folded onto one line.

    Note: an empty body is not JSON either; a provider that answers "nothing" with
    no body must be told apart by the caller before this.
    """
    try:
        return json.loads(body, parse_constant=_refuse_constant)
    except (ValueError, RecursionError) as exc:
        reason = _one_line(exc)
        raise FeedFormatError(f"{provider} payload is not JSON: {reason}") from exc


def feature_collection(document: Any, provider: str) -> list[Any]:
    """The ``features`` of a GeoJSON FeatureCollection document (RFC 7946).

    Raises FeedFormatError naming ``provider`` when ``document`` is not a JSON
    object, its ``type`` is not ``FeatureCollection`` or it has no ``features``
    array.  The features themselves are not checked.
    """
    if not isinstance(document, dict):
        raise FeedFormatError(
            f"{provider} payload is a JSON {json_type(document)}, not an object"
        )
    if document.get("type") != "FeatureCollection":
        raise FeedFormatError(
            f"{provider} payload type is {document.get('type')!r}, "
            "not 'FeatureCollection'"
        )
    features = document.get("features")
    if not isinstance(features, list):
        raise FeedFormatError(f"{provider} payload has no features array")
    return features


def _refuse_constant(name: str) -> NoReturn:
    raise ValueError(f"{name} is not a JSON number")


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__
