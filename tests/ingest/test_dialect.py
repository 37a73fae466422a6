"""Dialect detection: an export written in any supported dialect ingests to the same rows."""

from __future__ import annotations

import csv
import io
import tempfile
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agent.ingest import dialect, ingest_exports
from agent.ingest.mapping import Mapping
from agent.workspace import Workspace
from protocol.errors import UsageError
from protocol.keys import SecretBytes
from tests.ingest.ingest_fixtures import MAPPING

KEY = SecretBytes(b"k" * 32)
HEADER = ["Bestelnummer", "Voorstellingsdatum", "Voorstelling", "Genre", "Postcode",
          "Huisnummer", "E-mailadres", "Aantal kaarten", "Prijs"]  # fmt: skip


@dataclass(frozen=True)
class Dialect:
    encoding: str
    delimiter: str
    decimal: str
    date_format: str
    line_end: str


dialects = st.builds(
    Dialect,
    encoding=st.sampled_from(["utf-8", "utf-8-sig", "cp1252"]),
    delimiter=st.sampled_from([";", ",", "\t"]),
    decimal=st.sampled_from([",", "."]),
    date_format=st.sampled_from(["%d-%m-%Y", "%Y-%m-%d", "%d/%m/%Y"]),
    line_end=st.sampled_from(["\n", "\r\n"]),
)
rows = st.lists(
    st.tuples(
        st.dates(date(2026, 7, 1), date(2026, 9, 30)),
        st.sampled_from(["Hamlet", "Café Noir", "Ça, c'est Mahler", 'De "Nieuwe"', "Twee\nregels"]),
        st.sampled_from(["Toneel", "Klassiek", "Dans"]),
        st.sampled_from(["1234 ab", "1234AB", "9999 ZZ", "", "0123 AB"]),
        st.sampled_from(["12", "12-a", "12 A", "7/2", ""]),
        st.sampled_from(["jan@example.nl", " Piet@Example.NL", "", "geen-adres"]),
        st.integers(1, 9),
        st.integers(0, 250_000),
    ),
    min_size=1,
    max_size=15,
)


def render(records: list[tuple], d: Dialect) -> bytes:
    """The export as a box office in dialect ``d`` would write it."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter=d.delimiter, lineterminator=d.line_end)
    writer.writerow(HEADER)
    # One late-month day keeps day-first dates unambiguous whatever else is drawn.
    fixed = (date(2026, 7, 25), "Hamlet", "Toneel", "1234 AB", "1", "", 1, 1000)
    for i, (day, event, genre, pc, nr, mail, tickets, cents) in enumerate([fixed, *records]):
        euros, rest = divmod(cents, 100)
        whole = f"{euros:,}".replace(",", "." if d.decimal == "," else ",")
        price = f"{whole}{d.decimal}{rest:02d}"
        writer.writerow(
            [f"B{i}", day.strftime(d.date_format), event, genre, pc, nr, mail, tickets, price]
        )
    return out.getvalue().encode(d.encoding)


def canonical(data: bytes, root: Path) -> pl.DataFrame:
    path = root / "export.csv"
    path.write_bytes(data)
    (root / "map.toml").write_text(MAPPING, encoding="utf-8")
    workspace = Workspace(root / "ws")
    ingest_exports([path], Mapping.load(root / "map.toml"), workspace, sector_key=lambda _: KEY)
    # Each workspace makes a link key of its own: link keys differ between the two.
    return workspace.load_visits("2026-Q3").drop("source_digest", "link_key").sort("source_row")


@pytest.mark.slow
@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows, dialects)
def test_any_dialect_ingests_to_the_same_canonical_rows(records: list[tuple], d: Dialect) -> None:
    reference = Dialect("utf-8", ";", ",", "%d-%m-%Y", "\n")
    with tempfile.TemporaryDirectory() as a, tempfile.TemporaryDirectory() as b:
        expected = canonical(render(records, reference), Path(a))
        got = canonical(render(records, d), Path(b))
    assert got.equals(expected)


def test_detected_dialect_is_reported(tmp_path: Path) -> None:
    d = Dialect("cp1252", "\t", ".", "%Y-%m-%d", "\r\n")
    path = tmp_path / "export.csv"
    path.write_bytes(render([(date(2026, 8, 1), "Café", "Toneel", "1234AB", "1", "", 1, 1250)], d))
    (tmp_path / "map.toml").write_text(MAPPING, encoding="utf-8")
    report = ingest_exports([path], Mapping.load(tmp_path / "map.toml"), Workspace(tmp_path / "ws"))
    assert report.detected["export.csv"] == {
        "format": "csv",
        "encoding": "cp1252",
        "delimiter": "\t",
        "date_format": "%Y-%m-%d",
        "decimal": ".",
    }


def test_delimiter_detection_counts_quoted_newlines_and_delimiters_correctly() -> None:
    text = 'a,b,c\n1,"x;y\nz;w",3\n2,"p;q",4\n'
    assert dialect.detect_delimiter(text) == ","


def test_day_first_dates_are_detected_from_a_day_above_twelve() -> None:
    evidence = dialect.date_evidence(["01-02-2026", "13-02-2026"])
    assert dialect.date_format_from(evidence, where="f") == "%d-%m-%Y"


def test_month_first_dates_are_detected_from_a_day_above_twelve() -> None:
    evidence = dialect.date_evidence(["02/01/2026", "02/13/2026"])
    assert dialect.date_format_from(evidence, where="f") == "%m/%d/%Y"


def test_dates_with_a_time_part_get_a_time_format() -> None:
    evidence = dialect.date_evidence(["2026-08-01 20:00:00"])
    assert dialect.date_format_from(evidence, where="f") == "%Y-%m-%d %H:%M:%S"


def test_ambiguous_dates_are_an_error_not_a_guess() -> None:
    evidence = dialect.date_evidence(["01-02-2026", "12-11-2026", "05-05-2026"])
    with pytest.raises(UsageError, match="ambiguous") as info:
        dialect.date_format_from(evidence, where="f")
    assert "date_format" in str(info.value)


def test_cp1252_bytes_are_detected_as_cp1252() -> None:
    assert dialect.detect_encoding("naam;plaats\nRené;Café €\n".encode("cp1252")) == "cp1252"


def test_a_bom_decides_the_encoding() -> None:
    assert dialect.detect_encoding("a;b\n".encode("utf-8-sig")) == "utf-8-sig"


@given(st.lists(st.decimals(0, 100_000, places=2, allow_nan=False), min_size=1, max_size=20))
def test_decimal_comma_is_detected_from_prices_with_cents(values: list[object]) -> None:
    texts = [f"{v:.2f}".replace(".", ",") for v in values]
    assert dialect.detect_decimal(texts) == ","


@pytest.mark.slow  # 0.4 s or more: outside the inner loop (ADR 0032)
def test_cp1252_bytes_after_a_utf8_looking_start_switch_the_encoding(tmp_path: Path) -> None:
    # The first MiB is plain ASCII (valid UTF-8); the only accented byte comes late.
    filler = "B{0};14-08-2026;Hamlet;Toneel;1234 AB;{0};;1;10,00\n"
    body = "".join(filler.format(i) for i in range(1, 25_000))
    late = "B0;15-08-2026;Café;Toneel;1234 AB;1;;1;10,00\n"
    text = ";".join(HEADER) + "\n" + body + late
    assert len(body) > 1 << 20
    path = tmp_path / "export.csv"
    path.write_bytes(text.encode("cp1252"))
    (tmp_path / "map.toml").write_text(MAPPING, encoding="utf-8")
    workspace = Workspace(tmp_path / "ws")
    report = ingest_exports([path], Mapping.load(tmp_path / "map.toml"), workspace)
    assert report.detected["export.csv"]["encoding"] == "cp1252"
    assert report.rows_accepted == 25_000
    events = workspace.load_visits("2026-Q3")["event"]
    assert "Café" in events.to_list()
