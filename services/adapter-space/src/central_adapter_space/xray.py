"""GOES X-ray flux: ``json/goes/primary/xrays-*.json``.

The product is a JSON array of objects, one per minute and energy band:
``time_tag`` (``2026-08-19T22:45:00Z``), ``satellite`` (16, 18...), ``flux``
(W/m², electron-corrected), ``observed_flux``, ``electron_correction``,
``electron_contaminaton`` and ``energy`` (``0.05-0.4nm`` or ``0.1-0.8nm``).

One row becomes one ``central.space.xray-flux`` event:

- ``source`` is :data:`SOURCE` whatever URL the feed is configured with (the
  primary or secondary satellite, any window length);
- ``subject`` is ``goes-<satellite>/<energy>/<time tag>``: a time tag alone is not
  a key, since each minute has two rows, one per band;
- ``id`` is built from ``swpc``, that subject and a hash of the normalized
  ``data`` (the rows carry no updated-time), so a re-processed sample is a new
  event under the same subject;
- ``time`` is ``time_tag``.

After the rows, :func:`parse` appends the M1 and X1 threshold crossings of the
long band found in the same payload (see :mod:`central_adapter_space.flares`);
each becomes a ``central.space.xray-flare`` event.

Upstream quirks handled: the contamination flag is spelled
``electron_contaminaton`` (the correct spelling is read too, should SWPC fix it);
the same payload can switch satellites, so crossings are looked for per satellite.
SWPC has only served this product as objects; a header-row payload reads the same.
"""

from __future__ import annotations

import re
from typing import Any, Final

from central.errors import RecordError
from central.feeds import Normalized
from central_adapter_space import flares
from central_adapter_space._common import Row, assemble, load_rows, tag
from central_adapter_space.flares import Crossing, Sample, band_of, flare_class
from central_adapter_space.models import XRAY_FLUX, XrayFlux

FEED: Final = "swpc-xray"
SOURCE: Final = flares.SOURCE

_COLUMNS: Final = [("time_tag",), ("satellite",), ("flux",), ("energy",)]
_CONTAMINATION: Final = ("electron_contaminaton", "electron_contamination")
# A band as SWPC names it ("0.1-0.8nm"); it goes into the subject, so no "/".
_ENERGY: Final = re.compile(r"[0-9A-Za-z.\- ]{1,32}", re.ASCII)


def parse(body: bytes) -> list[Any]:
    """The rows of an X-ray payload, then the flare crossings they contain.

    Rows are returned as they are (a row that will be rejected stays in place and
    is left out of the crossing search); crossings follow as
    :class:`~central_adapter_space.flares.Crossing` records.  Raises
    :class:`~central.errors.FeedFormatError` when ``body`` is not a JSON array of
    rows with ``time_tag``, ``satellite``, ``flux`` and ``energy``.
    """
    rows = load_rows(body, FEED, _COLUMNS)
    samples = []
    for record in rows:
        try:
            samples.append(_sample(Row(record)))
        except RecordError:
            continue
    return [*rows, *flares.crossings(samples)]


def record_id(record: Any) -> str | None:
    """``<time tag> <energy>`` of a row, the subject of a crossing, else None."""
    if isinstance(record, Crossing):
        return flares.subject_of(record)
    if isinstance(record, dict):
        when, energy = record.get("time_tag"), record.get("energy")
        if isinstance(when, str) and isinstance(energy, str):
            return f"{when} {energy}"
    return None


def normalize(record: Any) -> Normalized:
    """One X-ray row as a ``central.space.xray-flux`` event, or one crossing.

    Raises :class:`~central.errors.RecordError` for a row that is not an object or
    lacks a valid ``time_tag``, ``satellite``, ``energy`` or ``flux``, or has
    another value of the wrong type.  Members not modelled are kept in
    ``data.extra``.
    """
    if isinstance(record, Crossing):
        return flares.normalize(record)
    row = Row(record, record_id(record))
    sample = _sample(row)
    subject = f"goes-{sample.satellite}/{sample.energy}/{tag(sample.time)}"
    row.native_id = subject
    band = band_of(sample.energy)
    contamination = next((n for n in _CONTAMINATION if row.has(n)), _CONTAMINATION[0])

    fields = {
        "satellite": sample.satellite,
        "energy": sample.energy,
        "band": band,
        "flux": sample.flux,
        "observed_flux": row.number("observed_flux"),
        "electron_correction": row.number("electron_correction"),
        "electron_contamination": row.boolean(contamination),
        "xray_class": flare_class(sample.flux) if band == "long" else None,
        "extra": row.extra(),
    }
    return assemble(
        kind=XRAY_FLUX,
        source=SOURCE,
        subject=subject,
        time=sample.time,
        model=XrayFlux,
        fields=fields,
    )


def _sample(row: Row) -> Sample:
    """The time, satellite, band and flux of a row; RecordError if one is bad."""
    when = row.time("time_tag")
    satellite = row.present(row.integer("satellite", required=True), "satellite")
    if not 0 <= satellite <= 999:
        row.fail(f"satellite {satellite} is not a GOES satellite number")
    energy = row.present(row.text("energy", required=True), "energy")
    if not _ENERGY.fullmatch(energy):
        row.fail(f"energy {energy[:40]!r} is not an energy band")
    flux = row.present(row.number("flux", required=True), "flux")
    return Sample(when, satellite, energy, flux)
