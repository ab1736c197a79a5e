from __future__ import annotations

import pytest

from central.ids import event_id
from central.streams import ARCHIVED, BY_NAME, DASHBOARD, REGISTRY, stream_for_subject
from central.subjects import cell, event_subject, representative_point


def test_event_id_is_stable_and_differs_by_each_part() -> None:
    first = event_id("usgs", "us7000lsze", "1707193234040")

    assert first == event_id("usgs", "us7000lsze", "1707193234040")
    assert len(first) == 32
    assert (
        len(
            {
                first,
                event_id("emsc", "us7000lsze", "1707193234040"),
                event_id("usgs", "us7000lszf", "1707193234040"),
                event_id("usgs", "us7000lsze", "1707193234041"),
            }
        )
        == 4
    )


def test_event_id_raises_when_a_part_is_empty() -> None:
    with pytest.raises(ValueError, match="native_id is empty"):
        event_id("usgs", "", "1")


@pytest.mark.parametrize(
    ("geometry", "expected"),
    [
        pytest.param({"type": "Point", "coordinates": [-122.4, 37.77]}, "9q8", id="sf"),
        pytest.param(
            {"type": "Point", "coordinates": [139.69, 35.68, 10.0]},
            "xn7",
            id="tokyo-3d",
        ),
        pytest.param(
            {
                "type": "Polygon",
                "coordinates": [[[-1, -1], [1, -1], [1, 1], [-1, 1], [-1, -1]]],
            },
            "s00",
            id="polygon-centroid",
        ),
        pytest.param(None, "none", id="no-geometry"),
        pytest.param(
            {"type": "Point", "coordinates": [200, 95]}, "none", id="out-of-range"
        ),
        pytest.param(
            {"type": "Polygon", "coordinates": "garbage"}, "none", id="unparseable"
        ),
    ],
)
def test_cell_of_geometry_matches_known_geohash(
    geometry: dict[str, object] | None, expected: str
) -> None:
    assert cell(representative_point(geometry)) == expected


def test_event_subject_has_five_tokens_and_rejects_bad_tokens() -> None:
    subject = event_subject(
        "quake", "earthquake", "usgs", {"type": "Point", "coordinates": [-122.4, 37.77]}
    )

    assert subject == "central.quake.earthquake.usgs.9q8"
    with pytest.raises(ValueError, match="kind 'quarry blast'"):
        event_subject("quake", "quarry blast", "usgs", None)


def test_registry_names_and_filters_are_unique_and_under_central() -> None:
    names = [s.name for s in REGISTRY]
    filters = [f for s in REGISTRY for f in s.subjects]

    assert len(names) == len(set(names))
    assert len(filters) == len(set(filters))
    assert all(f.startswith("central.") for f in filters)
    assert {s.durable for s in ARCHIVED} == {f"archiver-{s.domain}" for s in ARCHIVED}


def test_registry_archives_everything_but_meta_and_views_match_flags() -> None:
    assert [s.name for s in REGISTRY if not s.archived] == ["CENTRAL_META"]
    assert list(ARCHIVED) == [s for s in REGISTRY if s.archived]
    assert list(DASHBOARD) == [s for s in REGISTRY if s.dashboard]
    assert all(BY_NAME[s.name] is s for s in REGISTRY)
    for spec in REGISTRY:
        assert spec.limits.duplicate_window_s <= spec.limits.max_age_s


def test_stream_for_subject_finds_the_covering_stream_or_raises() -> None:
    assert (
        stream_for_subject("central.quake.earthquake.usgs.9q8").name == "CENTRAL_QUAKE"
    )
    assert (
        stream_for_subject("central.meta.status.adapter-quake").name == "CENTRAL_META"
    )
    with pytest.raises(KeyError, match="no registry stream"):
        stream_for_subject("other.quake.x")
