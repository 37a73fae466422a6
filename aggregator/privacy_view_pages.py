"""The privacy officer's four pages, rendered from the page models of
``aggregator.privacy_view``: Dutch by default, English with ``?lang=en``.

Each number is printed twice: as text in the reader's format and as the
exact value of a ``<data value>`` element, which is the API's figure as it
is, so a test (or a reader's tool) can compare it with ``/v1/...``
without parsing a rounded text. Labels are human; ids (institutions,
submissions, hashes) are shown as they are, because that is what the
privacy officer compares with a receipt or a copy of the log.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import urlencode

from aggregator.privacy_view import (
    ALTERED,
    INTACT,
    MISPLACED,
    NO_CONFIG,
    REASON_DIFFERS,
    REASON_ERASED,
    REASON_MATCHES,
    SIGNATURE_FAILS,
    SIGNATURE_VERIFIES,
    UNLINKED,
    BudgetView,
    ConfigView,
    LogView,
    OverviewView,
)
from views.charts_budget import budget_chart
from views.labels import Text, table_title
from views.labels import bilingual as _t
from views.pages import number, render

PHRASES: Mapping[str, Text] = {
    "nav": _t("Privacy-officer", "Privacy officer"),
    "overview": _t("Overzicht", "Overview"),
    "log": _t("Transparantielog", "Transparency log"),
    "budgets": _t("Privacybudget per instelling", "Privacy budget per institution"),
    "periods": _t("Periodes en hun ondertekende configuratie", "Periods and their signed config"),
    "role_note": _t(
        "U controleert; u ziet nooit de cijfers van een instelling. Deze pagina's tonen wat de "
        "audit-API (/v1/log, /v1/periods/…/budgets, /v1/config) u al geeft, in leesbare vorm.",
        "You audit; you never see an institution's figures. These pages show what the audit "
        "API (/v1/log, /v1/periods/…/budgets, /v1/config) already gives you, in readable form.",
    ),
    "outside_check_title": _t("Controle van buitenaf is sterker", "An outside check is stronger"),
    "outside_check": _t(
        "De aggregator controleert hier zijn eigen database: elke hash en elke koppeling van de "
        "log opnieuw berekend, met dezelfde code als een externe controleur. Wie de database "
        "herschrijft, kan ook deze pagina herschrijven. Bewaar daarom zelf een kopie van de log "
        "en controleer die, en elke nieuwe versie, buiten de aggregator:",
        "The aggregator checks its own database here: every hash and link of the log "
        "recomputed, with the same code an outside verifier runs. Whoever rewrites the "
        "database can rewrite this page too. So keep a copy of the log yourself and check it, "
        "and every later version, outside the aggregator:",
    ),
    "versions": _t("Versies", "Versions"),
    "protocol": _t("Protocol", "Protocol"),
    "earlier": _t(
        "eerdere versies (alleen in oude eigen administratie)",
        "earlier versions (only in an agent's own old records)",
    ),
    "design": _t("Tabelontwerp van deze versie", "Release design of this version"),
    "design_tables": _t("{n} tabellen", "{n} tables"),
    "period_design": _t("Tabelontwerp per periode", "Release design per period"),
    "design_fixed": _t("Tabelontwerp vastgelegd bij opening", "Release design fixed at opening"),
    "period": _t("Periode", "Period"),
    "models": _t("Segmentmodellen", "Segment models"),
    "model": _t("Versie", "Version"),
    "digest": _t("Digest (SHA-256 van het manifest)", "Digest (SHA-256 of the manifest)"),
    "synthetic": _t("Synthetisch", "Synthetic"),
    "yes": _t("ja", "yes"),
    "no": _t("nee", "no"),
    "bound_by": _t("Gebonden aan periode(s)", "Bound to period(s)"),
    "none": _t("geen", "none"),
    "builtin": _t("ingebouwd demomodel, niet ondertekend", "built-in demo model, not signed"),
    "policy": _t("Beleid dat de aggregator afdwingt", "Policy the aggregator enforces"),
    "setting": _t("Instelling", "Setting"),
    "value": _t("Waarde", "Value"),
    "k": _t(
        "k: minimum aantal instellingen per gepubliceerd vak",
        "k: minimum institutions per published cell",
    ),
    "period_rho": _t(
        "Budget per instelling voor een nieuwe periode (ρ, zCDP)",
        "Budget per institution for a new period (ρ, zCDP)",
    ),
    "period_delta": _t("δ waarbij ρ als ε wordt uitgedrukt", "δ at which ρ is stated as ε"),
    "period_mechanism": _t("Mechanisme", "Mechanism"),
    "max_body_bytes": _t("Grootste inzending (bytes)", "Largest submission (bytes)"),
    "token_days": _t("Geldigheid van een API-token (dagen)", "Validity of an API token (days)"),
    "request_skew_seconds": _t(
        "Toegestane klokafwijking (seconden)", "Allowed clock skew (seconds)"
    ),
    "database": _t("Database", "Database"),
    "peer_groups": _t("Vergelijkingsgroepen", "Peer groups"),
    "log_status": _t("Transparantielog", "Transparency log"),
    "entries": _t("{n} regels", "{n} entries"),
    "chain_intact": _t(
        "De keten klopt: elke regel opnieuw berekend. Kop: {head}",
        "The chain is intact: every entry recomputed. Head: {head}",
    ),
    "chain_broken": _t("De keten klopt NIET: {problem}", "The chain is NOT intact: {problem}"),
    "index": _t("Nr.", "No."),
    "kind": _t("Soort", "Kind"),
    "submission": _t("inzending", "submission"),
    "set-aside": _t("buiten beschouwing gelaten", "set aside"),
    "submission_id": _t("Inzending", "Submission"),
    "institution": _t("Instelling", "Institution"),
    "appended_at": _t("Tijdstip", "Time"),
    "entry_hash": _t("Hash (begin)", "Hash (start)"),
    "check": _t("Controle", "Check"),
    "reason": _t("Reden", "Reason"),
    INTACT: _t("klopt", "intact"),
    ALTERED: _t("gewijzigd: hash klopt niet", "altered: hash does not match"),
    UNLINKED: _t("niet gekoppeld aan de vorige regel", "not linked to the entry before"),
    MISPLACED: _t("verkeerde plaats", "out of place"),
    REASON_MATCHES: _t("reden klopt met de vastlegging", "reason matches its commitment"),
    REASON_ERASED: _t("reden gewist (vastlegging blijft)", "reason erased (commitment kept)"),
    REASON_DIFFERS: _t(
        "reden klopt NIET met de vastlegging", "reason does NOT match its commitment"
    ),
    "log_caption": _t(
        "Regels {first} tot en met {last} van {total}. Een inzendingsregel bevat alleen ids, "
        "periode, digest en tijdstip; nooit een cijfer.",
        "Entries {first} to {last} of {total}. A submission's entry holds only ids, period, "
        "digest and time; never a figure.",
    ),
    "previous": _t("Vorige", "Previous"),
    "next": _t("Volgende", "Next"),
    "pages": _t("Bladeren", "Pages"),
    "empty_log": _t("De log is nog leeg.", "The log is still empty."),
    "past_end": _t(
        "Geen regels vanaf nummer {offset}: de log heeft er {total}.",
        "No entries from number {offset}: the log has {total}.",
    ),
    "kinds": _t(
        "Twee soorten regels. Een inzending: de aggregator sloeg een inzending op (ids, "
        "periode, digest van de envelop, tijdstip). Buiten beschouwing gelaten: de taskforce "
        "liet een eerdere inzending weg uit de benchmarks van haar periode, met een reden; het "
        "besteedde budget blijft besteed. De reden zelf staat buiten de hash en kan gewist "
        "worden; de vastlegging ervan blijft in de keten.",
        "Two kinds of entry. A submission: the aggregator stored a submission (ids, period, "
        "digest of the envelope, time). Set aside: the taskforce left an earlier submission "
        "out of its period's benchmarks, with a reason; the budget spent stays spent. The "
        "reason itself is outside the hash and can be erased; its commitment stays in the chain.",
    ),
    "no_signed_heads": _t(
        "De log kent geen ondertekende koppen: wat de aggregator ondertekent zijn ontvangst"
        "bewijzen, die elke instelling zelf tegen de log controleert (publiek audit verify-log "
        "--receipt).",
        "The log has no signed heads: what the aggregator signs are receipts, which each "
        "institution checks against the log itself (publiek audit verify-log --receipt).",
    ),
    "budget_summary": _t("Alle periodes", "All periods"),
    "state": _t("Status", "State"),
    "open": _t("open", "open"),
    "closed": _t("gesloten", "closed"),
    "published": _t("gepubliceerd", "published"),
    "rho_budget": _t("Budget (ρ)", "Budget (ρ)"),
    "epsilon_budget": _t("als ε bij δ = {delta}", "as ε at δ = {delta}"),
    "institutions_spent": _t("Instellingen met inzendingen", "Institutions that submitted"),
    "rho_spent": _t("Besteed (ρ)", "Spent (ρ)"),
    "share": _t("Deel van het budget", "Share of the budget"),
    "submissions": _t("Inzendingen", "Submissions"),
    "set_aside": _t("Buiten beschouwing", "Set aside"),
    "budget_lede": _t(
        "Periode {period} ({state}): budget ρ = {rho} per instelling{epsilon}. Instellingen met "
        "inzendingen: {n}; hun hele budget besteed: {at}; meer dan het budget: {over}.",
        "Period {period} ({state}): budget ρ = {rho} per institution{epsilon}. Institutions that "
        "submitted: {n}; that spent their whole budget: {at}; more than the budget: {over}.",
    ),
    "budget_chart": _t(
        "Besteed budget per instelling in {period}, met de budgetlijn",
        "Budget spent per institution in {period}, with the budget line",
    ),
    "budget_line": _t("budget {rho}", "budget {rho}"),
    "budget_caption": _t(
        "ρ besteed per instelling in {period}, tegen het budget van de periode. Een "
        "buiten beschouwing gelaten inzending blijft besteed.",
        "ρ spent per institution in {period}, against the period's budget. A set-aside "
        "submission stays spent.",
    ),
    "no_submissions": _t("Geen inzendingen in deze periode.", "No submissions in this period."),
    "no_periods": _t("Nog geen periodes.", "No periods yet."),
    "signature": _t("Handtekening", "Signature"),
    SIGNATURE_VERIFIES: _t(
        "klopt onder de gepubliceerde ontvangstsleutel", "verifies under the published receipt key"
    ),
    SIGNATURE_FAILS: _t("klopt NIET: {problem}", "does NOT verify: {problem}"),
    NO_CONFIG: _t("geen configuratie: {problem}", "no config: {problem}"),
    "signature_note": _t(
        "De aggregator controleert hier zijn eigen handtekening onder de sleutel die hij op "
        "/v1/keys publiceert. Sterker is de controle van een agent: tegen de sleutel die hij "
        "bij inschrijving bewaarde.",
        "The aggregator checks its own signature here, under the key it publishes at /v1/keys. "
        "Stronger is an agent's check: against the key it kept at enrollment.",
    ),
    "opened_at": _t("Geopend", "Opened"),
    "closed_at": _t("Gesloten", "Closed"),
    "published_at": _t("Gepubliceerd", "Published"),
    "delta": _t("δ", "δ"),
    "mechanism": _t("Mechanisme", "Mechanism"),
    "config_k": _t("k", "k"),
    "segment_model": _t("Segmentmodel", "Segment model"),
    "sketch": _t("Huishoudschets (overlap)", "Household sketch (overlaps)"),
    "sketch_none": _t("geen schets deze periode", "no sketch this period"),
    "sketch_text": _t(
        "{share} van ρ, breedte {width}, ontwerp {design}",
        "{share} of ρ, width {width}, design {design}",
    ),
    "table_weights": _t("Tabellen en hun deel van ρ", "Tables and their share of ρ"),
    "table": _t("Tabel", "Table"),
    "weight": _t("Deel van ρ", "Share of ρ"),
    "key_id": _t("Sleutel-id", "Key id"),
    "bounds": _t("Standaardgrenzen per huishouden", "Default bounds per household"),
}

POLICY_KEYS = (
    "k", "period_rho", "period_delta", "period_mechanism", "max_body_bytes", "token_days",
    "request_skew_seconds", "database", "peer_groups",
)  # fmt: skip


def phrases(lang: str) -> dict[str, str]:
    return {key: text[lang] for key, text in PHRASES.items()}


def decimal(value: float, lang: str, digits: int = 4) -> str:
    """A small figure (ρ, ε) to ``digits`` significant digits, with the
    reader's decimal sign: ``0,02019`` in Dutch, ``0.02019`` in English."""
    text = f"{value:.{digits}g}"
    return text.replace(".", ",") if lang == "nl" else text


def percent(share: float, lang: str) -> str:
    text = f"{share * 100:.1f}".rstrip("0").rstrip(".")
    return (text.replace(".", ",") if lang == "nl" else text) + "%"


def _epsilon_text(epsilon: float, delta: float, t: Mapping[str, str], lang: str) -> str:
    return f"{t['epsilon_budget'].format(delta=f'{delta:g}')}: {decimal(epsilon, lang)}"


def href(path: str, lang: str, **query: Any) -> str:
    """A link to one of these pages that keeps the reader's language."""
    params = {k: v for k, v in query.items() if v is not None}
    if lang != "nl":
        params["lang"] = lang
    return path + ("?" + urlencode(params) if params else "")


def _page(name: str, lang: str, chrome: Mapping[str, Any], **context: Any) -> str:
    t = phrases(lang)
    return render(
        f"privacy{'' if name == 'overview' else '_' + name}.html",
        **chrome,
        t=t,
        heading=t[name],
        **context,
    )


def render_overview(view: OverviewView, lang: str, chrome: Mapping[str, Any]) -> str:
    t = phrases(lang)
    policy = []
    for key in POLICY_KEYS:
        value = view.policy[key]
        shown = decimal(value, lang) if isinstance(value, float) else str(value)
        policy.append({"key": key, "label": t[key], "value": value, "text": shown})
    models = [
        {
            "version": m.version,
            "digest": m.digest or t["builtin"],
            "synthetic": t["yes"] if m.synthetic else t["no"],
            "periods": ", ".join(m.periods) or t["none"],
        }
        for m in view.models
    ]
    return _page(
        "overview",
        lang,
        chrome,
        view=view,
        policy=policy,
        models=models,
        design_tables=[table_title(n, lang) for n in view.design_tables],
        verdict=_verdict(view.verdict, t),
        log_href=href("/privacy/log", lang),
    )


def _verdict(verdict: Any, t: Mapping[str, str]) -> dict[str, Any]:
    return {
        "intact": verdict.intact,
        "size": verdict.size,
        "entries": t["entries"].format(n=verdict.size),
        "text": t["chain_intact"].format(head=verdict.head)
        if verdict.intact
        else t["chain_broken"].format(problem=verdict.problem),
    }


def render_log(view: LogView, lang: str, chrome: Mapping[str, Any], base_url: str) -> str:
    t = phrases(lang)
    rows = []
    for check in view.entries:
        e = check.entry
        rows.append(
            {
                "index": e["log_index"],
                "kind": e["kind"],
                "kind_text": t.get(e["kind"], e["kind"]),
                "submission_id": e["submission_id"],
                "institution_id": e["institution_id"],
                "period": e["period"],
                "appended_at": e["appended_at"],
                "entry_hash": e["entry_hash"],
                "hash_start": e["entry_hash"][:12],
                "status": check.status,
                "status_text": t[check.status],
                "reason": e["reason"],
                "reason_check": check.reason,
                "reason_text": t[check.reason] if check.reason else "",
            }
        )
    first = view.offset + 1 if rows else 0
    caption = t["log_caption"].format(first=first, last=view.offset + len(rows), total=view.total)
    return _page(
        "log",
        lang,
        chrome,
        verdict=_verdict(view.verdict, t),
        rows=rows,
        caption=caption,
        past_end=t["past_end"].format(offset=view.offset, total=view.total),
        total=view.total,
        previous_href=None
        if view.previous_offset is None
        else href("/privacy/log", lang, offset=view.previous_offset or None),
        next_href=None
        if view.next_offset is None
        else href("/privacy/log", lang, offset=view.next_offset),
        verify_command=f"publiek audit verify-log --aggregator {base_url} --token …",
    )


def render_budgets(
    view: BudgetView | None,
    summary: Sequence[Mapping[str, Any]],
    lang: str,
    chrome: Mapping[str, Any],
) -> str:
    t = phrases(lang)
    periods = [
        {
            **p,
            "href": href("/privacy/budgets", lang, period=p["label"]),
            "state_text": t[p["state"]],
            "rho_text": decimal(p["rho_budget"], lang),
            "institutions_text": number(p["institutions"], lang),
            "current": view is not None and p["label"] == view.period,
        }
        for p in summary
    ]
    detail = None
    if view is not None:
        epsilon = (
            ""
            if view.epsilon_budget is None or view.delta is None
            else f" ({_epsilon_text(view.epsilon_budget, view.delta, t, lang)})"
        )
        rows = [
            {
                "institution_id": r.institution_id,
                "rho_spent": r.rho_spent,
                "rho_text": decimal(r.rho_spent, lang),
                "share": r.share,
                "share_text": percent(r.share, lang),
                "submissions": r.submissions,
                "set_aside": r.set_aside,
                "over": r.over,
            }
            for r in view.rows
        ]
        chart = (
            budget_chart(
                f"budget-{view.period}",
                t["budget_chart"].format(period=view.period),
                [
                    (
                        r.institution_id,
                        r.rho_spent,
                        _bar_note(r.institution_id, r.rho_spent, r.share, lang),
                    )
                    for r in view.rows
                ],
                budget=view.rho_budget,
                budget_label=t["budget_line"].format(rho=decimal(view.rho_budget, lang)),
                fmt=lambda v: decimal(v, lang, 3),
            )
            if view.rows
            else None
        )
        detail = {
            "period": view.period,
            "rho_budget": view.rho_budget,
            "lede": t["budget_lede"].format(
                period=view.period,
                state=t[view.state],
                rho=decimal(view.rho_budget, lang),
                epsilon=epsilon,
                n=number(len(view.rows), lang),
                at=number(view.at_budget, lang),
                over=number(view.over_budget, lang),
            ),
            "caption": t["budget_caption"].format(period=view.period),
            "rows": rows,
            "chart": chart,
        }
    return _page("budgets", lang, chrome, periods=periods, detail=detail)


def _bar_note(institution_id: str, spent: float, share: float, lang: str) -> str:
    return f"{institution_id}: ρ {decimal(spent, lang)} ({percent(share, lang)})"


def render_periods(views: Sequence[ConfigView], lang: str, chrome: Mapping[str, Any]) -> str:
    t = phrases(lang)
    shown = []
    for v in views:
        config = v.config
        item: dict[str, Any] = {
            "label": v.label,
            "state": v.state,
            "state_text": t[v.state],
            "signature": v.signature,
            "signature_text": t[v.signature].format(problem=v.problem),
            "dates": [
                (t[name], when)
                for name, when in (
                    ("opened_at", v.opened_at),
                    ("closed_at", v.closed_at),
                    ("published_at", v.published_at),
                )
                if when is not None
            ],
            "config": None,
        }
        if config is not None:
            sketch = config["sketch"]
            item["config"] = {
                "rho_budget": config["rho_budget"],
                "rho_text": decimal(config["rho_budget"], lang),
                "epsilon_text": ""
                if v.epsilon_budget is None
                else _epsilon_text(v.epsilon_budget, config["delta"], t, lang),
                "delta": f"{config['delta']:g}",
                "mechanism": config["mechanism"],
                "design": config["design"],
                "k": config["k"],
                "segment_model": config["segment_model"],
                "segment_model_digest": config["segment_model_digest"] or t["builtin"],
                "key_id": config["aggregator_key_id"],
                "sketch": t["sketch_none"]
                if sketch is None
                else t["sketch_text"].format(
                    share=percent(sketch["weight"], lang),
                    width=number(sketch["width"], lang),
                    design=sketch["design"],
                ),
                "tables": [
                    {
                        "name": table["name"],
                        "title": table_title(table["name"], lang),
                        "weight": table["weight"],
                        "weight_text": percent(table["weight"], lang),
                    }
                    for table in config["tables"]
                ],
                "bounds": sorted(config["bounds"].items()),
            }
        shown.append(item)
    return _page("periods", lang, chrome, periods=shown)
