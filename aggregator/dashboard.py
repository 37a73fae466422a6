"""Server-rendered HTML for the published benchmarks: no scripts, no CDN, no trackers.

Any table is shown: one row per cell with its labels, the estimate with its
95% interval (± half-width) and the number of institutions. A cell that is
too uncertain (half-width over half the estimate) says so ("too uncertain")
instead of showing a number; cells that fewer than ``k`` institutions sent
are not listed. The list of peer groups says how many smaller groups were
merged into each, never which (a group below ``k`` can be one institution).
"""

from __future__ import annotations

from html import escape
from typing import Any
from urllib.parse import urlencode

STYLE = """
body{font-family:system-ui,sans-serif;margin:2rem;color:#1b1b1b;max-width:80rem}
h1{font-size:1.5rem}h2{font-size:1.15rem;margin-top:2rem}
table{border-collapse:collapse;font-size:.85rem}
th,td{border:1px solid #ccc;padding:.25rem .5rem;text-align:right}
th{background:#f1f1f1}td.l,th.l{text-align:left}.ci{color:#666;font-size:.75rem}
.na{color:#999;font-style:italic}
"""
TOO_UNCERTAIN = "too uncertain"


def _table(cells: list[dict[str, Any]]) -> str:
    dims = cells[0]["dimensions"]
    head = "".join(f'<th class="l">{escape(d)}</th>' for d in dims)
    head += "<th>estimate</th><th>95% interval</th><th>institutions</th>"
    body = []
    for c in cells:
        labels = "".join(f'<td class="l">{escape(str(c[d]))}</td>' for d in dims)
        if c["published"] and c["estimate"] is not None:
            half = c["ci95_high"] - c["estimate"]
            stats = (
                f"<td>{c['estimate']:,}<br><span class=ci>± {half:,.0f}</span></td>"
                f"<td>{c['ci95_low']:,.0f}–{c['ci95_high']:,.0f}</td>"
            )
        else:
            stats = f'<td class="na" colspan=2>{TOO_UNCERTAIN if c["too_uncertain"] else "–"}</td>'
        body.append(f"<tr>{labels}{stats}<td>{c['institutions']}</td></tr>")
    return f"<table><tr>{head}</tr>{''.join(body)}</table>"


def _groups(period: str, groups: list[dict[str, Any]]) -> str:
    items = []
    for g in groups:
        link = "/?" + urlencode({"period": period, "group": g["group_id"]})
        n = g["merged_groups"]
        merged = f" — includes {n} smaller group{'s' if n != 1 else ''} merged upward" if n else ""
        items.append(
            f'<li><a href="{escape(link)}">{escape(g["group_id"])}</a> '
            f"({escape(g['level'])}, {g['institutions']} institutions){merged}</li>"
        )
    return "<ul>" + "".join(items) + "</ul>"


def render_sector(
    period: str, group: dict[str, Any], groups: list[dict[str, Any]], *, k: int
) -> str:
    tables: dict[str, list[dict[str, Any]]] = {}
    for cell in group["cells"]:
        tables.setdefault(cell["table"], []).append(cell)
    sections = "".join(
        f"<h2>{escape(name)}</h2>{_table(cells)}" for name, cells in sorted(tables.items())
    )
    if not sections:
        sections = "<p>No submissions for this period.</p>"
    return (
        "<!doctype html><html lang=en><head><meta charset=utf-8>"
        f"<title>Publiek — sector benchmark {escape(period)}</title><style>{STYLE}</style></head>"
        f"<body><h1>Sector benchmark {escape(period)}: {escape(group['group_id'])}</h1>"
        f"<p>{group['institutions']} institutions in this group. Estimates combine the "
        "institutions' differentially private counts: never negative, and the tables of one "
        "measure add up to the same total; ± is the half-width of the 95% interval. "
        f"<em>{TOO_UNCERTAIN}</em>: the interval is wider than half the estimate, so no number "
        f"is shown. Cells with fewer than {k} contributing institutions are not listed."
        f"</p><h2>Peer groups</h2>{_groups(period, groups)}"
        f"{sections}</body></html>"
    )
