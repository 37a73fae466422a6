"""The twelve provinces as a tile map, drawn on the server (ADR 0039).

One square tile per province, placed roughly where the province lies
(Friesland and Groningen on top, Zeeland bottom left, Limburg bottom
right), so a reader finds a province by position as on a map, while every
tile has the same size: a small province with a large number is as visible
as a large one. A real map's outlines would be a file to ship and keep up to
date for no gain in reading a number.

A tile is coloured by estimate on the heat map's scale (``views.charts``)
and carries the province's short name; a province without a number is
hatched (too few institutions) or outlined with a dash (too uncertain), as
in the other charts. The numbers and intervals are in the table beside the
map; hovering a tile names the province with its number or its gap.
"""

from __future__ import annotations

from collections.abc import Mapping

from markupsafe import Markup, escape

from views.charts import HATCHED, INK, MUTED, Format, Value, gap_shape, open_svg, px, shade
from views.charts import nice_maximum as _nice_maximum

# (column, row) of each province on a 3 × 5 grid, north at the top.
TILES: Mapping[str, tuple[int, int]] = {
    "friesland": (1, 0), "groningen": (2, 0),
    "noord-holland": (0, 1), "flevoland": (1, 1), "drenthe": (2, 1),
    "zuid-holland": (0, 2), "utrecht": (1, 2), "overijssel": (2, 2),
    "zeeland": (0, 3), "noord-brabant": (1, 3), "gelderland": (2, 3),
    "limburg": (2, 4),
}  # fmt: skip
# Short names that fit a tile; the full name is in the tile's title and the table.
SHORT: Mapping[str, str] = {
    "friesland": "FR", "groningen": "GR", "drenthe": "DR", "noord-holland": "NH",
    "flevoland": "FL", "overijssel": "OV", "zuid-holland": "ZH", "utrecht": "UT",
    "gelderland": "GE", "zeeland": "ZE", "noord-brabant": "NB", "limburg": "LI",
}  # fmt: skip
TILE = 76
GAP = 4
MARGIN = 8


def tile_map(chart_id: str, title: str, values: Mapping[str, Value], fmt: Format) -> Markup:
    """The provinces of ``values`` (keyed by province id, ``TILES``) as tiles;
    a province missing from ``values`` is drawn as a gap too few institutions
    sent (nothing is listed for it). Keys outside the twelve (``unknown``) are
    not drawn: they have no place on a map, and the table lists them."""
    known = {p: values.get(p, Value(gap="", style=HATCHED)) for p in TILES}
    highest = max((v.estimate for v in known.values() if v.estimate is not None), default=0)
    top = _nice_maximum(highest)
    columns = 1 + max(c for c, _ in TILES.values())
    rows = 1 + max(r for _, r in TILES.values())
    width = MARGIN * 2 + columns * (TILE + GAP)
    grid_h = MARGIN + rows * (TILE + GAP)
    height = grid_h + 44
    out = open_svg(chart_id, width, height, title)
    for province, (column, row) in TILES.items():
        v = known[province]
        x, y = MARGIN + column * (TILE + GAP), MARGIN + row * (TILE + GAP)
        out.append("<g>")
        if v.note:
            out.append(f"<title>{escape(v.note)}</title>")
        if v.estimate is None:
            out.append(gap_shape(chart_id, (x, y, TILE, TILE), v.style))
            ink = INK
        else:
            share = v.estimate / top
            out.append(
                f'<rect x="{x}" y="{y}" width="{TILE}" height="{TILE}" '
                f'fill="{shade(share)}" stroke="{MUTED}"/>'
            )
            ink = "#ffffff" if share > 0.5 else INK  # contrast on the deep end of the scale
        out.append(
            f'<text x="{px(x + TILE / 2)}" y="{px(y + TILE / 2 + 5)}" text-anchor="middle" '
            f'font-weight="600" fill="{ink}">{escape(SHORT[province])}</text>'
        )
        out.append("</g>")
    scale_y = grid_h + 4
    out.append(
        f'<defs><linearGradient id="{chart_id}-scale"><stop offset="0" stop-color="{shade(0)}"/>'
        f'<stop offset="1" stop-color="{shade(1)}"/></linearGradient></defs>'
        f'<rect x="{MARGIN}" y="{scale_y}" width="160" height="10" '
        f'fill="url(#{chart_id}-scale)" stroke="{MUTED}"/>'
        f'<text x="{MARGIN}" y="{scale_y + 24}" fill="{MUTED}">{escape(fmt(0))}</text>'
        f'<text x="{MARGIN + 160}" y="{scale_y + 24}" text-anchor="end" fill="{MUTED}">'
        f"{escape(fmt(top))}</text>"
    )
    out.append("</svg>")
    return Markup("".join(out))  # noqa: S704 - every text escaped above
