"""The mapping file: which export column is which canonical field."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from agent.visits import DISCIPLINES
from protocol.errors import UsageError

CANONICAL_COLUMNS = (
    "order_id", "line_id", "visit_date", "postcode", "house_number", "house_number_addition",
    "email", "tickets", "price", "event", "discipline", "birth_year",
)  # fmt: skip
REQUIRED_COLUMNS = ("visit_date",)
SOURCE_KEYS = ("encoding", "delimiter", "decimal", "date_format", "sheet")


@dataclass(frozen=True)
class SourceOptions:
    """How the export is written; every field left None is detected."""

    encoding: str | None = None
    delimiter: str | None = None
    decimal: str | None = None
    date_format: str | None = None
    sheet: str | None = None


@dataclass(frozen=True)
class Mapping:
    """Which export header holds which canonical column, plus how to read the file."""

    columns: dict[str, str]
    source: SourceOptions = field(default_factory=SourceOptions)
    discipline_map: dict[str, str] = field(default_factory=dict)
    default_discipline: str | None = None

    @classmethod
    def load(cls, path: Path) -> Mapping:
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError as exc:
            raise UsageError(
                f"mapping file {path} does not exist",
                hint="write one with `publiek agent mapping suggest EXPORT > MAP.toml`",
            ) from exc
        except (OSError, UnicodeDecodeError) as exc:
            raise UsageError(
                f"mapping file {path} cannot be read ({type(exc).__name__})",
                hint="it must be a UTF-8 text file readable by the agent's user",
            ) from exc
        except tomllib.TOMLDecodeError as exc:
            # tomllib's message ends with "(at line L, column C)": the place to fix.
            raise UsageError(
                f"mapping file {path}: TOML syntax error: {exc}",
                hint="fix that line (strings need double quotes, tables [brackets])",
            ) from exc
        return cls.from_dict(data, where=str(path))

    @classmethod
    def from_dict(cls, data: dict[str, object], *, where: str) -> Mapping:
        data = _default_discipline_in_place(data, where)
        columns = data.get("columns", {})
        if not isinstance(columns, dict) or not columns:
            raise UsageError(f"{where}: [columns] is missing", hint="map at least visit_date")
        unknown = sorted(set(columns) - set(CANONICAL_COLUMNS))
        if unknown:
            raise UsageError(
                f"{where}: unknown canonical column(s) {', '.join(unknown)}",
                hint=f"use: {', '.join(CANONICAL_COLUMNS)}",
            )
        for required in REQUIRED_COLUMNS:
            if required not in columns:
                raise UsageError(f"{where}: [columns] must map {required}")
        if "house_number_addition" in columns and "house_number" not in columns:
            raise UsageError(
                f"{where}: [columns] maps house_number_addition but not house_number",
                hint="the addition is joined to the house number; map both",
            )
        source = data.get("source", {})
        if not isinstance(source, dict):
            raise UsageError(f"{where}: [source] must be a table")
        unknown_source = sorted(set(source) - set(SOURCE_KEYS))
        if unknown_source:
            raise UsageError(
                f"{where}: unknown [source] key(s) {', '.join(unknown_source)}",
                hint=f"use: {', '.join(SOURCE_KEYS)}",
            )
        if "decimal" in source and source["decimal"] not in (",", "."):
            raise UsageError(f'{where}: [source] decimal must be "," or "."')
        unknown_top = sorted(
            set(data) - {"source", "columns", "discipline_map", "default_discipline"}
        )
        if unknown_top:
            raise UsageError(
                f"{where}: unknown table(s) or key(s) {', '.join(unknown_top)}",
                hint="use [source], [columns], [discipline_map] and default_discipline",
            )
        dmap = data.get("discipline_map", {})
        if not isinstance(dmap, dict):
            raise UsageError(f"{where}: [discipline_map] must be a table")
        bad = sorted({str(v) for v in dmap.values()} - set(DISCIPLINES))
        if bad:
            raise UsageError(
                f"{where}: [discipline_map] maps to unknown discipline(s) {', '.join(bad)}",
                hint=f"use: {', '.join(DISCIPLINES)}",
            )
        default = data.get("default_discipline")
        if default is not None and str(default) not in DISCIPLINES:
            raise UsageError(
                f"{where}: default_discipline {default!r} is not a sector discipline",
                hint=f"use: {', '.join(DISCIPLINES)}",
            )
        return cls(
            columns={str(k): str(v) for k, v in columns.items()},
            source=SourceOptions(**{k: str(v) for k, v in source.items()}),
            discipline_map={str(k): str(v) for k, v in dmap.items()},
            default_discipline=str(default) if default else None,
        )


_TOP_LEVEL_HINT = (
    'put default_discipline = "..." at the top of the mapping file, above the first '
    "[table]: a key written below a [table] header belongs to that table"
)


def _default_discipline_in_place(data: dict[str, object], where: str) -> dict[str, object]:
    """``data`` with ``default_discipline`` at the top level, where it belongs.

    TOML puts every key below a ``[table]`` header into that table, so a line
    ``default_discipline = "theater"`` appended to the file lands in whatever
    table comes last. Under ``[discipline_map]`` its meaning is plain (no genre
    is spelt "default_discipline") and it is taken as the default; under
    ``[columns]`` or ``[source]`` the message says where to move it."""
    dmap = data.get("discipline_map")
    if isinstance(dmap, dict) and "default_discipline" in dmap:
        if "default_discipline" in data:
            raise UsageError(
                f"{where}: default_discipline is given twice, at the top and in [discipline_map]",
                hint="keep the one at the top of the file",
            )
        dmap = dict(dmap)
        data = {
            **data,
            "discipline_map": dmap,
            "default_discipline": dmap.pop("default_discipline"),
        }
    for table in ("columns", "source"):
        inner = data.get(table)
        if isinstance(inner, dict) and "default_discipline" in inner:
            raise UsageError(
                f"{where}: default_discipline is inside [{table}]", hint=_TOP_LEVEL_HINT
            )
    return data
