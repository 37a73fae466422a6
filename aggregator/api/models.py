"""The API's request and response bodies as pydantic models: the contract in
``docs/openapi.json``.

Routes still build plain dicts (the same ones the CLI, the exports and the
protocol code build); FastAPI checks each against its ``response_model`` and
serialises the checked model. So that this changes no byte of an answer, the
models are exact: every field the dict carries is declared, in the dict's
order, without defaults (a ``null`` the route sends is declared ``| None``,
and nothing is added or left out), and numbers keep their Python type (a
``float`` field is only ever given floats). ``ExactModel`` forbids unknown
fields, so a route that starts sending a field the contract does not name
fails its tests instead of silently dropping it.

Request bodies are read as the exact bytes received (size-limited) and
parsed as JSON by the routes; the models of the bodies that are not protocol
messages (a token request, an enrollment, a sector-key upload) then check
them with :func:`parse_body`, strictly: no unknown field, no coercion
(``5`` is not ``"5"``), patterns matched in full. The content of a protocol
message (an envelope, a sealed sector key) is the protocol code's to check
(ADR 0013, ADR 0021).
"""

from __future__ import annotations

from typing import Any, Literal, TypeVar

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SerializerFunctionWrapHandler,
    ValidationError,
    model_serializer,
)

from aggregator.auth import USERNAME
from protocol.errors import MalformedMessage

PeriodState = Literal["open", "closed", "published"]
BenchmarkStatus = Literal["published", "provisional", "closed"]
GroupLevel = Literal["province", "part_of_country", "national", "discipline", "sector"]
Role = Literal["institution", "taskforce", "privacy-officer"]
SubmissionState = Literal["accepted", "left-out", "set-aside"]
LogKind = Literal["submission", "set-aside"]

PERIOD_DESCRIPTION = "A quarter, e.g. 2026-Q3."
HEX32 = "32 lower-case hex digits."
# Patterns of request fields, in full (pydantic's regex engine reads ``$`` as the
# end of the text, never before a final newline).
BASE64URL_32 = r"^[A-Za-z0-9_-]{43}$"  # 32 bytes, unpadded base64url
MAX_PASSWORD = 1024
MAX_SECTOR_KEY_BATCH = 10_000
STATUS_DESCRIPTION = (
    "accepted: counted in the period's benchmarks (its latest table of each name); "
    "left-out: stored, but a value or field cannot be right, so no benchmark counts it "
    "(docs/operations.md); set-aside: the taskforce set it aside, with a reason (ADR 0020)."
)
REASON_DESCRIPTION = (
    "Why, in one line typed by staff (never personal data); '(reason erased)' once erased."
)


class ExactModel(BaseModel):
    """A body with exactly the declared fields."""

    model_config = ConfigDict(extra="forbid")


# --- problems -----------------------------------------------------------------


class Problem(ExactModel):
    """An RFC 9457 problem document (``application/problem+json``); ``type`` is one
    of the stable types of docs/protocol.md section 6."""

    type: str = Field(description="urn:publiek:problem:<slug>, stable across versions.")
    title: str
    status: int
    detail: str = Field(description="What happened and what to do; never personal data.")
    instance: str = Field(description="The request path.")


# --- service health -----------------------------------------------------------


class Health(ExactModel):
    status: Literal["ok"]


class Ready(ExactModel):
    status: Literal["ready"]


# --- intake -------------------------------------------------------------------


class PublishedKey(ExactModel):
    key_id: str = Field(description=HEX32)
    public_key: str = Field(description="X25519 public key (base64url).")
    state: Literal["pending", "active"]
    current: bool = Field(description="The key new envelopes are sealed to.")


class KeySet(ExactModel):
    keys: list[PublishedKey]
    receipt_key: str = Field(description="Ed25519 key that signs receipts and period configs.")


class EnrollmentRequest(ExactModel):
    """``POST /v1/enrollments``: at most 16 KiB."""

    token: str = Field(
        pattern=BASE64URL_32,
        description="The one-time enrollment token from the taskforce (32 bytes, base64url).",
    )
    signing_key: str = Field(
        pattern=BASE64URL_32, description="The agent's Ed25519 public key (base64url)."
    )
    sealing_key: str = Field(
        pattern=BASE64URL_32, description="The agent's X25519 public key (base64url)."
    )


class Enrolled(ExactModel):
    institution_id: str
    discipline: str
    province: str


class Envelope(ExactModel):
    """A sealed submission (docs/protocol.md section 4), sent as its canonical
    JSON bytes, at most ``max_body_bytes`` (default 8 MiB)."""

    version: str
    suite: str = Field(description="The HPKE suite name.")
    kem_key_id: str = Field(description="Id of the aggregator key it is sealed to; " + HEX32)
    signer_key_id: str = Field(description="Id of the institution's signing key; " + HEX32)
    institution_id: str
    period: str = Field(description=PERIOD_DESCRIPTION)
    submission_id: str = Field(description=HEX32)
    sealed: str = Field(description="HPKE ciphertext of the signed payload (base64url).")


class Receipt(ExactModel):
    """The aggregator's signed acknowledgement: the submission is stored."""

    submission_id: str
    institution_id: str
    period: str
    digest: str = Field(description="SHA-256 of the envelope bytes (64 hex digits).")
    log_index: int
    received_at: str = Field(description="RFC 3339 date-time, equal to the log entry's time.")
    aggregator_key_id: str
    signature: str = Field(description="Ed25519 by the receipt key (base64url).")


# --- auth ---------------------------------------------------------------------


class TokenRequest(ExactModel):
    """``POST /v1/auth/tokens``: at most 4 KiB."""

    username: str = Field(pattern=f"^{USERNAME}$", description="A staff username.")
    password: str = Field(min_length=1, max_length=MAX_PASSWORD)


class Token(ExactModel):
    token: str = Field(description="Send as 'Authorization: Bearer <token>'.")
    token_type: Literal["Bearer"]
    expires_in_days: int


class Me(ExactModel):
    role: Role
    name: str = Field(description="The staff username or the institution id.")


# --- periods ------------------------------------------------------------------


class PeriodSummary(ExactModel):
    label: str = Field(description=PERIOD_DESCRIPTION)
    state: PeriodState
    rho_budget: float = Field(description="zCDP ρ per institution for the whole period.")
    closed_at: str | None
    published_at: str | None
    inputs_digest: str | None = Field(
        description="Digest of what the benchmarks were computed from."
    )


class PeriodList(ExactModel):
    periods: list[PeriodSummary]


class SegmentModelSummary(ExactModel):
    version: str = Field(description="The release's version, as its signed manifest names it.")
    digest: str = Field(description="SHA-256 of the release's manifest (hex): what is signed.")
    synthetic: bool = Field(description="The release describes no real population.")
    size: int = Field(description="Size of the release file in bytes.")
    published_at: str


class SegmentModelList(ExactModel):
    """The published segment model releases (ADR 0027). Agents verify each under
    the model key they pinned; this list is a convenience, not a trust anchor."""

    segment_models: list[SegmentModelSummary]


class PeriodTable(ExactModel):
    name: str
    weight: float = Field(description="Share of a submission's ρ.")


class PeriodSketch(ExactModel):
    """The household sketch every submission of the period carries (ADR 0036)."""

    design: str
    width: int = Field(description="Buckets per part, a power of two.")
    seed: str = Field(description="Public 32-byte key of the bucket/sign hash, base64url.")
    weight: float = Field(description="Share of a submission's ρ.")


class PeriodConfig(ExactModel):
    """What the taskforce fixed at open, signed by the receipt key (docs/protocol.md 5.8)."""

    version: str
    period: str
    rho_budget: float
    delta: float
    mechanism: str
    design: str
    tables: list[PeriodTable]
    bounds: dict[str, int]
    k: int
    segment_model: str = Field(description="The segment model every submission releases with.")
    segment_model_digest: str | None = Field(
        description="SHA-256 of that release's signed manifest; null for the built-in demo model."
    )
    issued_at: str
    aggregator_key_id: str
    sketch: PeriodSketch | None = Field(
        description="The household sketch of every submission; null: no sketches this period."
    )
    signature: str


class LeftOutSubmission(ExactModel):
    """A stored submission the benchmarks did not count, and why (never a value)."""

    submission_id: str
    institution_id: str
    reason: str


class Closed(ExactModel):
    period: str
    state: Literal["closed"]
    inputs_digest: str
    groups: int = Field(description="How many peer groups have a benchmark.")
    left_out: list[LeftOutSubmission] = Field(
        description="Stored submissions left out of the benchmarks because a value or field "
        "cannot be right; set them aside (POST /v1/submissions/{id}/set-aside) or leave them out."
    )


class Published(ExactModel):
    period: str
    state: Literal["published"]


# --- benchmarks ---------------------------------------------------------------


class GroupSummary(ExactModel):
    """What anyone who may read a benchmark sees of its group: the merged groups
    are counted, never named (a group below k can be one institution)."""

    group_id: str
    level: GroupLevel
    institutions: int
    merged_groups: int


class Cell(BaseModel):
    """One cell of a table: its labels (one field per dimension, named after it),
    a non-negative estimate with its 95% interval, or ``too_uncertain`` and no
    number. Cells that fewer than k institutions sent are not listed."""

    model_config = ConfigDict(extra="allow")
    __pydantic_extra__: dict[str, str] = Field(init=False)  # the labels

    table: str
    measure: str
    dimensions: list[str]
    institutions: int
    published: bool
    too_uncertain: bool
    estimate: int | None
    ci95_low: float | None
    ci95_high: float | None
    std: float | None

    # No return annotation: pydantic would document the annotated type instead
    # of the fields (this serializer only reorders them).
    @model_serializer(mode="wrap")
    def _labels_after_dimensions(self, handler: SerializerFunctionWrapHandler):  # type: ignore[no-untyped-def]
        # Extra fields serialise last; the routes send the labels right after
        # ``dimensions``, so put them back there.
        data = handler(self)
        if not isinstance(data, dict):
            return data
        labels = {d: data.pop(d) for d in self.dimensions if d in (self.model_extra or {})}
        ordered: dict[str, Any] = {}
        for key, value in data.items():
            ordered[key] = value
            if key == "dimensions":
                ordered.update(labels)
        return ordered


class Groups(ExactModel):
    period: str
    k: int
    status: BenchmarkStatus
    groups: list[GroupSummary]


class Benchmark(ExactModel):
    period: str
    k: int
    status: BenchmarkStatus
    group: GroupSummary
    segment_model: str | None = Field(
        description="The segment model the period's segments are counted under (null: a "
        "period opened before periods named one)."
    )
    synthetic: bool = Field(
        description="The segment model is synthetic: its segments describe no real population."
    )
    cells: list[Cell]
    offset: int
    limit: int
    total: int
    next_offset: int | None = Field(description="null on the last page.")


# --- audit --------------------------------------------------------------------


class InstitutionSpend(ExactModel):
    institution_id: str
    rho_spent: float = Field(description="Set-aside submissions included: their noise was drawn.")
    submissions: int
    set_aside: int = Field(description="How many of its submissions were set aside.")


class Budgets(ExactModel):
    period: str
    rho_budget: float
    institutions: list[InstitutionSpend]


class LogEntry(ExactModel):
    """One transparency-log entry (docs/protocol.md 5.7): a stored submission, or
    the taskforce setting an earlier one aside."""

    log_index: int
    kind: LogKind
    submission_id: str
    institution_id: str
    period: str
    digest: str = Field(description="SHA-256 of the submission's envelope bytes.")
    appended_at: str
    reason_commitment: str | None = Field(
        description="set-aside: SHA-256 of the domain, the nonce and the reason (hashed into "
        "the chain); null for a submission."
    )
    reason: str | None = Field(
        description="set-aside: the reason (outside the hash, null once erased)."
    )
    reason_nonce: str | None = Field(
        description="set-aside: the commitment's 16 random bytes as hex (null once erased)."
    )
    prev_hash: str
    entry_hash: str


class LogPage(ExactModel):
    entries: list[LogEntry]
    offset: int
    limit: int
    total: int
    next_offset: int | None = Field(description="null on the last page.")


class Policy(ExactModel):
    """The policy the aggregator enforces; never the database URL."""

    k: int
    period_rho: float
    period_delta: float
    period_mechanism: str
    max_body_bytes: int
    token_days: int
    request_skew_seconds: int
    database: str = Field(description="The database kind (sqlite, postgresql).")
    peer_groups: str = Field(description="How peer groups are formed and merged.")


# --- institutions -------------------------------------------------------------


class ReleasedTable(ExactModel):
    """One differentially private table as submitted (docs/protocol.md section 3)."""

    name: str
    measure: str
    dimensions: list[str]
    keys: list[list[str]]
    values: list[int]
    mechanism: str
    scale: float
    sensitivity: float
    rho: float
    ci95: float


class PrivacySpend(ExactModel):
    rho: float
    epsilon: float
    delta: float


class StoredSubmission(ExactModel):
    submission_id: str
    period: str
    digest: str
    log_index: int
    received_at: str
    tables: list[ReleasedTable]
    privacy: PrivacySpend
    status: SubmissionState = Field(description=STATUS_DESCRIPTION)
    reason: str | None = Field(description="Why it is left out or set aside; null if accepted.")
    set_aside_at: str | None
    set_aside_log_index: int | None = Field(description="The set-aside's log entry.")


class SubmissionPage(ExactModel):
    submissions: list[StoredSubmission]
    offset: int
    limit: int
    total: int
    next_offset: int | None = Field(description="null on the last page.")


class SetAsideNote(ExactModel):
    """One of the institution's own submissions that the taskforce set aside."""

    submission_id: str
    reason: str = Field(description=REASON_DESCRIPTION)
    set_aside_at: str


class Standing(ExactModel):
    """What the institution may still do in the period (no values, only ρ)."""

    institution_id: str
    period: str
    state: PeriodState
    rho_budget: float
    rho_spent: float = Field(description="Set-aside submissions included: their noise was drawn.")
    rho_left: float
    submissions: int
    revoked: bool
    set_aside: list[SetAsideNote]


class Report(ExactModel):
    period: str
    peer_group: GroupSummary
    cells: list[Cell]
    set_aside: list[SetAsideNote] = Field(
        description="The institution's submissions in the period that were set aside."
    )


# --- penetration, profiles and not-yet-visitors (ADR 0031) --------------------

Represented = Literal["over", "under", "in_line"]


class Figure(ExactModel):
    """One figure with its 95% interval, or ``too_uncertain`` and no number
    (half-width over half the estimate); never negative."""

    estimate: float | None
    ci95_low: float | None
    ci95_high: float | None
    too_uncertain: bool


class SegmentPenetration(ExactModel):
    """One segment (in one province, for the sector by province) of an audience
    against its population."""

    segment: str
    province: str | None = Field(description="Set in the sector's rows by province only.")
    population: int = Field(description="Households of the segment in the catchment (exact).")
    visitors: Figure = Field(description="Visiting households, summed over the institutions.")
    penetration: Figure = Field(description="Visiting households per 100 of the population.")
    not_yet_visitors: Figure = Field(
        description="Population − visitors: for the sector at least this many households of "
        "the segment are not reached (overlaps count twice); for a peer group, the members' own "
        "not-yet-visitors summed, at most the households no member reaches (see note)."
    )
    profile_index: Figure = Field(
        description="Audience share ÷ population share × 100; shown where the visitors are."
    )
    represented: Represented | None = Field(
        description="over/under: the profile index's interval lies above/below 100."
    )


class Penetration(ExactModel):
    period: str
    k: int
    status: BenchmarkStatus
    group: GroupSummary
    segment_model: str
    synthetic: bool = Field(
        description="The segment model is synthetic: these figures describe no real population."
    )
    catchment: str = Field(
        description="15_km, 30_km or 60_km around each member, or province (its own); "
        "the sector: country."
    )
    institutions: int = Field(description="Institutions counted (with a catchment).")
    listed: bool = Field(description="false: fewer than k institutions counted; nothing listed.")
    note: str
    segments: list[SegmentPenetration]
    not_yet_visitors: list[str] = Field(
        description="Segments by not-yet-visitors shown, largest first."
    )
    provinces: list[SegmentPenetration] = Field(description="The sector only: by province.")


class OwnSegmentPenetration(ExactModel):
    """One segment of the institution's own audience in its own catchment."""

    segment: str
    province: str | None
    population: int
    visitors: Figure
    penetration: Figure
    not_yet_visitors: Figure
    profile_index: Figure
    represented: Represented | None
    peer_group_index: Figure = Field(
        description="Its audience share of the segment ÷ its peer group's × 100."
    )
    represented_vs_peer_group: Represented | None


class OwnPenetration(ExactModel):
    period: str
    segment_model: str
    synthetic: bool = Field(
        description="The segment model is synthetic: these figures describe no real population."
    )
    catchment: str
    origin: str = Field(description="The institution's own PC4, its catchment's centre.")
    peer_group: GroupSummary | None
    peer_group_listed: bool
    note: str
    segments: list[OwnSegmentPenetration]
    not_yet_visitors: list[str]


# --- a period's submissions and setting one aside -----------------------------


class SubmissionStatus(ExactModel):
    """One stored submission as the taskforce and the privacy officer see it: no values."""

    submission_id: str
    institution_id: str
    log_index: int
    received_at: str
    rho: float
    status: SubmissionState = Field(description=STATUS_DESCRIPTION)
    reason: str | None = Field(description="Why it is left out or set aside; null if accepted.")
    set_aside_at: str | None
    set_aside_log_index: int | None = Field(description="The set-aside's log entry.")


class PeriodSubmissions(ExactModel):
    period: str
    state: PeriodState
    submissions: list[SubmissionStatus]
    offset: int
    limit: int
    total: int
    next_offset: int | None = Field(description="null on the last page.")


class SetAsideRequest(ExactModel):
    """``POST /v1/submissions/{submission_id}/set-aside``: at most 4 KiB."""

    reason: str = Field(
        min_length=1,
        max_length=500,
        description="Why, in one line without control characters; shown to the institution, "
        "the taskforce and the privacy officer and kept in the transparency log: never "
        "personal data.",
    )


class SetAsideRecord(ExactModel):
    """The set-aside as recorded in the transparency log (final: ADR 0020)."""

    submission_id: str
    institution_id: str
    period: str
    reason: str = Field(description=REASON_DESCRIPTION)
    set_aside_at: str
    log_index: int = Field(description="The set-aside's own log entry.")


# --- sector keys --------------------------------------------------------------


class Recipient(ExactModel):
    institution_id: str
    sealing_key: str


class Recipients(ExactModel):
    recipients: list[Recipient]


class SealedSectorKey(ExactModel):
    """A period's sector key sealed to one agent, signed by the custodian
    (docs/protocol.md 5.3); canonical JSON, at most 4096 bytes."""

    version: str
    suite: str
    period: str
    institution_id: str
    recipient_key_id: str
    custodian_key_id: str
    sealed: str
    signature: str


class SectorKeyUpload(ExactModel):
    """``POST /v1/sector-keys``: at most 10 000 sealed keys, stored all or none."""

    sealed_keys: list[SealedSectorKey] = Field(max_length=MAX_SECTOR_KEY_BATCH)


class Stored(ExactModel):
    stored: int


Body = TypeVar("Body", bound=BaseModel)


def parse_body(model: type[Body], doc: Any, *, what: str) -> Body:
    """``doc`` (parsed JSON) checked against ``model`` strictly, or ``malformed-message``.

    The error names the fields that fail and how, never their values (one of
    them may be a password) and never the name of an unknown field (it is
    whatever the caller sent); the validation error is not chained, so no
    traceback carries the values either."""
    try:
        return model.model_validate(doc, strict=True)
    except ValidationError as exc:
        problems = sorted(
            {
                "an unknown field"
                if e["type"] == "extra_forbidden"
                else ".".join(map(str, e["loc"])) or "the body"
                for e in exc.errors(include_input=False, include_url=False)
            }
        )
    shown = ", ".join(problems[:5]) + (
        f" and {len(problems) - 5} more" if len(problems) > 5 else ""
    )
    fields = ", ".join(model.model_fields)
    raise MalformedMessage(
        f"{what} does not match its schema: {shown}",
        hint=f"send a JSON object with exactly: {fields} (docs/openapi.json)",
    )


REQUEST_BODIES: tuple[type[BaseModel], ...] = (
    EnrollmentRequest,
    Envelope,
    TokenRequest,
    SectorKeyUpload,
    SetAsideRequest,
)
