"""Server-rendered HTML for the published benchmarks: no scripts, no CDN, no trackers.

Any table is shown: one row per cell with its labels, the sector total with
its 95% interval and the median (quartiles) over institutions. Cells below
``k`` institutions show only a dash. The list of peer groups shows which
small groups were merged into which larger one.
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
.na{color:#999}
"""


def _table(cells: list[dict[str, Any]]) -> str:
    dims = cells[0]["dimensions"]
    head = "".join(f'<th class="l">{escape(d)}</th>' for d in dims)
    head += "<th>total</th><th>median (q1–q3)</th><th>institutions</th>"
    body = []
    for c in cells:
        labels = "".join(f'<td class="l">{escape(str(c[d]))}</td>' for d in dims)
        if c["published"]:
            half = (c["ci95_high"] - c["ci95_low"]) / 2
            stats = (
                f"<td>{c['total']:,}<br><span class=ci>± {half:,.0f}</span></td>"
                f"<td>{c['median']:,.1f}<br><span class=ci>{c['q1']:,.1f}–{c['q3']:,.1f}</span>"
                "</td>"
            )
        else:
            stats = '<td class="na">–</td><td class="na">–</td>'
        body.append(f"<tr>{labels}{stats}<td>{c['institutions']}</td></tr>")
    return f"<table><tr>{head}</tr>{''.join(body)}</table>"


def _groups(period: str, groups: list[dict[str, Any]]) -> str:
    items = []
    for g in groups:
        link = "/?" + urlencode({"period": period, "group": g["group_id"]})
        merged = f" — merged from {escape(', '.join(g['merged_from']))}" if g["merged_from"] else ""
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
        f"<p>{group['institutions']} institutions in this group. Totals are sums of "
        "differentially private counts; ± is the 95% interval; the median and quartiles are "
        f"over institutions. Cells with fewer than {k} contributing institutions are not shown."
        f"</p><h2>Peer groups</h2>{_groups(period, groups)}"
        f"{sections}</body></html>"
    )
