"""Server-rendered HTML for the sector dashboard: no scripts, no CDN, no trackers."""

from __future__ import annotations

from html import escape

from aggregator.benchmarks import BenchmarkCell

STYLE = """
body{font-family:system-ui,sans-serif;margin:2rem;color:#1b1b1b;max-width:80rem}
h1{font-size:1.5rem}h2{font-size:1.15rem;margin-top:2rem}
table{border-collapse:collapse;font-size:.85rem}
th,td{border:1px solid #ccc;padding:.25rem .5rem;text-align:right}
th{background:#f1f1f1}td.l,th.l{text-align:left}.ci{color:#666;font-size:.75rem}
.na{color:#999}
"""


def _pivot(cells: list[BenchmarkCell]) -> str:
    rows = sorted({c.key[0] for c in cells})
    cols = sorted({c.key[1] for c in cells})
    by_key = {c.key: c for c in cells}
    head = "".join(f"<th>{escape(c)}</th>" for c in cols)
    body = []
    for r in rows:
        tds = []
        for c in cols:
            cell = by_key.get((r, c))
            if cell is None or not cell.published:
                tds.append('<td class="na">–</td>')
            else:
                tds.append(f"<td>{cell.total:,}<br><span class=ci>± {cell.ci95:,.0f}</span></td>")
        body.append(f'<tr><th class="l">{escape(r)}</th>{"".join(tds)}</tr>')
    dim0, dim1 = cells[0].dimensions
    return (
        f'<table><tr><th class="l">{escape(dim0)} \\ {escape(dim1)}</th>{head}</tr>'
        + "".join(body)
        + "</table>"
    )


def render_sector(period: str, cells: list[BenchmarkCell], *, k: int, institutions: int) -> str:
    tables: dict[str, list[BenchmarkCell]] = {}
    for cell in cells:
        tables.setdefault(cell.table, []).append(cell)
    sections = "".join(
        f"<h2>{escape(name)}</h2>{_pivot(group)}" for name, group in sorted(tables.items())
    )
    if not sections:
        sections = "<p>No submissions for this period yet.</p>"
    return (
        "<!doctype html><html lang=en><head><meta charset=utf-8>"
        f"<title>Publiek — sector benchmark {escape(period)}</title><style>{STYLE}</style></head>"
        f"<body><h1>Sector benchmark {escape(period)}</h1>"
        f"<p>{institutions} institutions submitted. Totals are sums of differentially private "
        f"counts; ± is the 95% interval. Cells with fewer than {k} contributing institutions "
        "are not shown.</p>"
        f"{sections}</body></html>"
    )
