"""What the privacy officer's pages show: the transparency log and whether it
verifies, the budget each institution spent per period against the period's
budget, every period's signed config, and the policy and versions in force.

The privacy officer audits; she never sees an institution's values (ADR 0007).
Every figure here is one the audit API already gives her role: the numbers are
taken from the same functions (``aggregator.api.audit``: ``budgets``, ``log``,
``config``; ``aggregator.periods.period_config``), so the page and
``/v1/periods/{p}/budgets``, ``/v1/log`` and ``/v1/config`` cannot disagree.
Nothing here reads a submission's payload or a benchmark cell.

What the aggregator can check about itself, and says so per entry and per
config:

* the log: it recomputes every entry's hash and link with the same code an
  outside verifier runs (``protocol.translog``), and the whole chain's rules
  (``verify_chain``: indices, links, set-asides naming an earlier submission,
  reasons matching their commitments). The log has no signed tree heads;
  receipts are what the aggregator signs, and an institution checks its own.
* a period config: its signature under the receipt key the aggregator
  publishes at ``/v1/keys``.

A check the aggregator runs on its own database proves little against the
aggregator itself: an operator who rewrites the database can rewrite what the
page shows too. The stronger check is the outside one, by someone who keeps
a copy of the log (``publiek audit verify-log``) and a receipt or config
signed earlier; the pages say so.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from sqlalchemy import select

from aggregator import periods, segment_models
from aggregator.api import audit
from aggregator.api.dependencies import Services
from aggregator.auth import Principal
from aggregator.storage import LogEntry, Period
from dp import release_design
from dp.measurements import GAUSSIAN, privacy_spend, table_measurement
from protocol import EARLIER_VERSIONS, PROTOCOL_VERSION
from protocol.errors import LogInconsistent, PubliekError
from protocol.keys import VerifyKey
from protocol.period_config import verify_period_config
from protocol.translog import (
    GENESIS,
    SET_ASIDE,
    entry_hash,
    hashed_fields,
    reason_commitment,
    verify_chain,
)

LOG_PAGE = 100  # entries per page of /privacy/log

# What one entry's own checks found (``EntryCheck.status``).
INTACT = "intact"
ALTERED = "altered"  # its hash is not the hash of its fields and link
UNLINKED = "unlinked"  # it does not link to the entry before it
MISPLACED = "misplaced"  # its index is not its place in the log
# What a set-aside's reason check found (``EntryCheck.reason``).
REASON_MATCHES = "matches"
REASON_ERASED = "erased"
REASON_DIFFERS = "differs"
# A period config's signature (``ConfigView.signature``).
SIGNATURE_VERIFIES = "verifies"
SIGNATURE_FAILS = "fails"
NO_CONFIG = "no_config"


@lru_cache(maxsize=256)
def epsilon_at(rho: float, delta: float) -> float:
    """The ε at ``delta`` of a zCDP budget ``rho``, converted by OpenDP as the
    submissions' own spend is (``dp.measurements.privacy_spend``): a Gaussian
    of sensitivity 1 whose scale gives exactly ρ = 1 / (2σ²)."""
    scale = 1.0 / math.sqrt(2.0 * rho)
    measurement = table_measurement("budget", 1.0, GAUSSIAN, scale)
    return privacy_spend(measurement, delta).epsilon


# --- the log -----------------------------------------------------------------


@dataclass(frozen=True)
class ChainVerdict:
    """The whole chain, recomputed: intact with its head, or the first problem."""

    size: int
    head: str | None
    problem: str | None

    @property
    def intact(self) -> bool:
        return self.problem is None


@dataclass(frozen=True)
class EntryCheck:
    """One log entry as the page lists it, with what its own checks found.

    Only what ``/v1/log`` gives the privacy officer: ids, period, digests,
    times, hashes and a set-aside's reason, never a value of a submission."""

    entry: Mapping[str, Any]
    status: str
    reason: str | None  # None for a submission's entry


def whole_log(svc: Services) -> list[dict[str, Any]]:
    """Every log entry as ``/v1/log`` publishes it (``translog.entry_dict``: every
    column), read as plain rows: a page reads the whole log on every request to
    recompute its chain, and rows skip the ORM's objects (half the time)."""
    query = select(LogEntry.__table__).order_by(LogEntry.log_index)
    with svc.db.session() as s:
        return [dict(row) for row in s.execute(query).mappings()]


def chain_verdict(rows: list[dict[str, Any]]) -> ChainVerdict:
    """``protocol.translog.verify_chain`` over the whole log, the check an
    outside verifier runs, turned into a verdict the page can show."""
    try:
        head = verify_chain(rows)
    except LogInconsistent as exc:
        return ChainVerdict(size=len(rows), head=None, problem=exc.detail)
    return ChainVerdict(size=len(rows), head=head, problem=None)


def check_entry(entry: Mapping[str, Any], position: int, prev_hash: str) -> EntryCheck:
    """One entry's own checks: its place, its link to ``prev_hash`` (the stored
    hash of the entry before it) and its hash; a set-aside's reason against
    its commitment."""
    if entry["log_index"] != position:
        status = MISPLACED
    elif entry["prev_hash"] != prev_hash:
        status = UNLINKED
    elif entry["entry_hash"] != entry_hash(hashed_fields(dict(entry)), prev_hash):
        status = ALTERED
    else:
        status = INTACT
    reason = None
    if entry["kind"] == SET_ASIDE:
        if entry["reason"] is None and entry["reason_nonce"] is None:
            reason = REASON_ERASED
        else:
            try:
                same = (
                    reason_commitment(str(entry["reason"]), str(entry["reason_nonce"]))
                    == entry["reason_commitment"]
                )
            except ValueError:  # a nonce that is not hex
                same = False
            reason = REASON_MATCHES if same else REASON_DIFFERS
    return EntryCheck(entry=entry, status=status, reason=reason)


@dataclass(frozen=True)
class LogView:
    verdict: ChainVerdict
    entries: list[EntryCheck]
    offset: int
    limit: int
    total: int
    next_offset: int | None
    previous_offset: int | None


def log_view(svc: Services, principal: Principal, *, offset: int = 0) -> LogView:
    """One page of the log as ``/v1/log`` gives it, each entry checked, and the
    verdict on the whole chain (read in the same way, from the first entry)."""
    page = audit.log(principal, svc, offset=offset, limit=LOG_PAGE)
    everything = whole_log(svc)
    verdict = chain_verdict(everything)
    checks = []
    for entry in page["entries"]:
        i = int(entry["log_index"])
        before = everything[i - 1]["entry_hash"] if 0 < i <= len(everything) else GENESIS
        checks.append(check_entry(entry, i, before))
    return LogView(
        verdict=verdict,
        entries=checks,
        offset=page["offset"],
        limit=page["limit"],
        total=page["total"],
        next_offset=page["next_offset"],
        previous_offset=max(0, offset - LOG_PAGE) if offset > 0 else None,
    )


def log_size_and_verdict(svc: Services) -> ChainVerdict:
    return chain_verdict(whole_log(svc))


# --- budgets -----------------------------------------------------------------


@dataclass(frozen=True)
class BudgetRow:
    institution_id: str
    rho_spent: float
    submissions: int
    set_aside: int
    share: float  # of the period's budget

    @property
    def over(self) -> bool:
        return self.share > 1.0 + 1e-9


@dataclass(frozen=True)
class BudgetView:
    period: str
    state: str
    rho_budget: float
    delta: float | None
    epsilon_budget: float | None
    rows: list[BudgetRow]

    @property
    def at_budget(self) -> int:
        """Institutions that spent their whole budget (within rounding)."""
        return sum(1 for r in self.rows if r.share >= 1.0 - 1e-9)

    @property
    def over_budget(self) -> int:
        return sum(1 for r in self.rows if r.over)

    @property
    def highest(self) -> float:
        return max((r.rho_spent for r in self.rows), default=0.0)


def budget_view(svc: Services, principal: Principal, period: Period) -> BudgetView:
    """The period's budgets as ``/v1/periods/{p}/budgets`` gives them, with the
    budget also as ε at the period's δ."""
    doc = audit.budgets(period.label, principal, svc)
    budget = float(doc["rho_budget"])
    rows = [
        BudgetRow(
            institution_id=i["institution_id"],
            rho_spent=float(i["rho_spent"]),
            submissions=int(i["submissions"]),
            set_aside=int(i["set_aside"]),
            share=float(i["rho_spent"]) / budget if budget > 0 else math.inf,
        )
        for i in doc["institutions"]
    ]
    delta = period.delta
    return BudgetView(
        period=period.label,
        state=period.state,
        rho_budget=budget,
        delta=delta,
        epsilon_budget=epsilon_at(budget, delta) if delta else None,
        rows=rows,
    )


# --- periods and their signed configs ------------------------------------------


@dataclass(frozen=True)
class ConfigView:
    """One period's config as served signed at ``/v1/periods/{p}/config``, and
    whether its signature verifies under the receipt key of ``/v1/keys``."""

    label: str
    state: str
    signature: str
    problem: str | None
    config: Mapping[str, Any] | None
    epsilon_budget: float | None
    opened_at: str | None
    closed_at: str | None
    published_at: str | None

    @property
    def table_share(self) -> float:
        if self.config is None:
            return 0.0
        return math.fsum(t["weight"] for t in self.config["tables"])


def config_view(period: Period, svc: Services) -> ConfigView:
    published_key = VerifyKey.from_text(svc.keyring.receipt_key().public.to_text())
    config: Mapping[str, Any] | None = None
    problem = None
    try:
        signed = periods.period_config(period, svc.keyring.receipt_key())
    except PubliekError as exc:  # opened before period configs existed
        signature, problem = NO_CONFIG, exc.detail
    else:
        config = signed.to_dict()
        try:
            verify_period_config(signed, published_key)
        except PubliekError as exc:
            signature, problem = SIGNATURE_FAILS, exc.detail
        else:
            signature = SIGNATURE_VERIFIES
    return ConfigView(
        label=period.label,
        state=period.state,
        signature=signature,
        problem=problem,
        config=config,
        epsilon_budget=epsilon_at(period.rho_budget, period.delta) if period.delta else None,
        opened_at=_when(period.opened_at),
        closed_at=_when(period.closed_at),
        published_at=_when(period.published_at),
    )


def _when(moment: Any) -> str | None:
    return None if moment is None else str(moment.isoformat(timespec="minutes"))


# --- the overview --------------------------------------------------------------


@dataclass(frozen=True)
class ModelUse:
    """A segment model release served here, and the periods it binds."""

    version: str
    digest: str | None
    synthetic: bool
    published_at: str | None
    periods: list[str]


@dataclass(frozen=True)
class OverviewView:
    protocol_version: str
    earlier_versions: tuple[str, ...]
    design: str
    design_tables: list[str]
    period_designs: list[tuple[str, str | None]]  # label, design it fixed
    models: list[ModelUse]
    policy: Mapping[str, Any]
    verdict: ChainVerdict
    periods: int


def overview_view(svc: Services, principal: Principal) -> OverviewView:
    """Versions, the policy of ``/v1/config`` and the log's verdict."""
    rows = periods.list_periods(svc.db)
    binding: dict[str, list[str]] = {}
    for p in rows:
        if p.segment_model is not None:
            binding.setdefault(p.segment_model, []).append(p.label)
    models = [
        ModelUse(
            version=r.version,
            digest=r.digest,
            synthetic=r.synthetic,
            published_at=_when(r.published_at),
            periods=binding.pop(r.version, []),
        )
        for r in segment_models.list_releases(svc.db)
    ]
    # Models a period names but that are not published here: the built-in demo model.
    models += [
        ModelUse(version=v, digest=None, synthetic=segment_models.is_synthetic(svc.db, v),
                 published_at=None, periods=labels)
        for v, labels in sorted(binding.items())
    ]  # fmt: skip
    return OverviewView(
        protocol_version=PROTOCOL_VERSION,
        earlier_versions=EARLIER_VERSIONS,
        design=release_design.DESIGN,
        design_tables=[t.name for t in release_design.TABLE_DESIGN],
        period_designs=[(p.label, p.design) for p in rows],
        models=models,
        policy=audit.config(principal, svc),
        verdict=log_size_and_verdict(svc),
        periods=len(rows),
    )


__all__ = [
    "LOG_PAGE",
    "BudgetView",
    "ChainVerdict",
    "ConfigView",
    "EntryCheck",
    "LogView",
    "OverviewView",
    "budget_view",
    "chain_verdict",
    "check_entry",
    "config_view",
    "epsilon_at",
    "log_view",
    "overview_view",
]
