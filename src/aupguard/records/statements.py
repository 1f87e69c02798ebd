"""Statements of reasons in the shape of the EU Digital Services Act transparency database
(Article 17 and 24(5) DSA; field names and values as in the database's API documentation).

A statement is made for every restriction: content removal, account restriction, suspension,
ban and credit forfeiture. ``statement_from_event`` makes one from an ``enforcement.*``
event of the audit log; ``statement_from_decision`` from a decision the API made on a request
(a blocked generation: the content was removed before anyone saw it). The facts are written
from templates (clause, category, step), never from the content or the account's data, and
every free-text field is checked for personal data (fail closed).

``export_batches`` writes JSON (``{"statements": [...]}``, the body of the database's
multiple-statements endpoint) or CSV files of at most 100 statements each.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import re
from collections.abc import Iterable, Sequence
from enum import StrEnum
from importlib import resources
from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from aupguard.records.errors import StatementError
from aupguard.store.records import Event

MAX_FACTS = 5000
MAX_BATCH = 100
SYSTEM_ACTORS = frozenset({"system", "aupguard"})

# the EEA: the database's territorial_scope values
EEA = (
    "AT", "BE", "BG", "CY", "CZ", "DE", "DK", "EE", "ES", "FI", "FR", "GR", "HR", "HU", "IE",
    "IS", "IT", "LI", "LT", "LU", "LV", "MT", "NL", "NO", "PL", "PT", "RO", "SE", "SI", "SK",
)  # fmt: skip


class DecisionVisibility(StrEnum):
    CONTENT_REMOVED = "DECISION_VISIBILITY_CONTENT_REMOVED"
    CONTENT_DISABLED = "DECISION_VISIBILITY_CONTENT_DISABLED"
    CONTENT_DEMOTED = "DECISION_VISIBILITY_CONTENT_DEMOTED"
    CONTENT_AGE_RESTRICTED = "DECISION_VISIBILITY_CONTENT_AGE_RESTRICTED"
    CONTENT_INTERACTION_RESTRICTED = "DECISION_VISIBILITY_CONTENT_INTERACTION_RESTRICTED"
    CONTENT_LABELLED = "DECISION_VISIBILITY_CONTENT_LABELLED"
    OTHER = "DECISION_VISIBILITY_OTHER"


class DecisionMonetary(StrEnum):
    SUSPENSION = "DECISION_MONETARY_SUSPENSION"
    TERMINATION = "DECISION_MONETARY_TERMINATION"
    OTHER = "DECISION_MONETARY_OTHER"


class DecisionProvision(StrEnum):
    PARTIAL_SUSPENSION = "DECISION_PROVISION_PARTIAL_SUSPENSION"
    TOTAL_SUSPENSION = "DECISION_PROVISION_TOTAL_SUSPENSION"
    PARTIAL_TERMINATION = "DECISION_PROVISION_PARTIAL_TERMINATION"
    TOTAL_TERMINATION = "DECISION_PROVISION_TOTAL_TERMINATION"


class DecisionAccount(StrEnum):
    SUSPENDED = "DECISION_ACCOUNT_SUSPENDED"
    TERMINATED = "DECISION_ACCOUNT_TERMINATED"


class AccountType(StrEnum):
    BUSINESS = "ACCOUNT_TYPE_BUSINESS"
    PRIVATE = "ACCOUNT_TYPE_PRIVATE"


class DecisionGround(StrEnum):
    ILLEGAL_CONTENT = "DECISION_GROUND_ILLEGAL_CONTENT"
    INCOMPATIBLE_CONTENT = "DECISION_GROUND_INCOMPATIBLE_CONTENT"


class ContentType(StrEnum):
    APP = "CONTENT_TYPE_APP"
    AUDIO = "CONTENT_TYPE_AUDIO"
    IMAGE = "CONTENT_TYPE_IMAGE"
    PRODUCT = "CONTENT_TYPE_PRODUCT"
    SYNTHETIC_MEDIA = "CONTENT_TYPE_SYNTHETIC_MEDIA"
    TEXT = "CONTENT_TYPE_TEXT"
    VIDEO = "CONTENT_TYPE_VIDEO"
    OTHER = "CONTENT_TYPE_OTHER"


class StatementCategory(StrEnum):
    ANIMAL_WELFARE = "STATEMENT_CATEGORY_ANIMAL_WELFARE"
    DATA_PROTECTION_AND_PRIVACY_VIOLATIONS = (
        "STATEMENT_CATEGORY_DATA_PROTECTION_AND_PRIVACY_VIOLATIONS"
    )
    ILLEGAL_OR_HARMFUL_SPEECH = "STATEMENT_CATEGORY_ILLEGAL_OR_HARMFUL_SPEECH"
    INTELLECTUAL_PROPERTY_INFRINGEMENTS = "STATEMENT_CATEGORY_INTELLECTUAL_PROPERTY_INFRINGEMENTS"
    NEGATIVE_EFFECTS_ON_CIVIC_DISCOURSE_OR_ELECTIONS = (
        "STATEMENT_CATEGORY_NEGATIVE_EFFECTS_ON_CIVIC_DISCOURSE_OR_ELECTIONS"
    )
    NON_CONSENSUAL_BEHAVIOUR = "STATEMENT_CATEGORY_NON_CONSENSUAL_BEHAVIOUR"
    ONLINE_BULLYING_INTIMIDATION = "STATEMENT_CATEGORY_ONLINE_BULLYING_INTIMIDATION"
    PORNOGRAPHY_OR_SEXUALIZED_CONTENT = "STATEMENT_CATEGORY_PORNOGRAPHY_OR_SEXUALIZED_CONTENT"
    PROTECTION_OF_MINORS = "STATEMENT_CATEGORY_PROTECTION_OF_MINORS"
    RISK_FOR_PUBLIC_SECURITY = "STATEMENT_CATEGORY_RISK_FOR_PUBLIC_SECURITY"
    SCAMS_AND_FRAUD = "STATEMENT_CATEGORY_SCAMS_AND_FRAUD"
    SELF_HARM = "STATEMENT_CATEGORY_SELF_HARM"
    SCOPE_OF_PLATFORM_SERVICE = "STATEMENT_CATEGORY_SCOPE_OF_PLATFORM_SERVICE"
    UNSAFE_AND_ILLEGAL_PRODUCTS = "STATEMENT_CATEGORY_UNSAFE_AND_ILLEGAL_PRODUCTS"
    VIOLENCE = "STATEMENT_CATEGORY_VIOLENCE"


class AutomatedDecision(StrEnum):
    FULLY = "AUTOMATED_DECISION_FULLY"
    PARTIALLY = "AUTOMATED_DECISION_PARTIALLY"
    NOT_AUTOMATED = "AUTOMATED_DECISION_NOT_AUTOMATED"


class SourceType(StrEnum):
    ARTICLE_16 = "SOURCE_ARTICLE_16"  # a notice from a user
    TRUSTED_FLAGGER = "SOURCE_TRUSTED_FLAGGER"
    OTHER_NOTIFICATION = "SOURCE_TYPE_OTHER_NOTIFICATION"
    VOLUNTARY = "SOURCE_VOLUNTARY"  # the provider's own initiative (detectors)


class YesNo(StrEnum):
    YES = "Yes"
    NO = "No"


# the aupguard taxonomy onto the database's categories (most specific prefix wins)
CATEGORY_MAP: dict[str, StatementCategory] = {
    "sexual/minors": StatementCategory.PROTECTION_OF_MINORS,
    "sexual/non-consensual": StatementCategory.NON_CONSENSUAL_BEHAVIOUR,
    "sexual": StatementCategory.PORNOGRAPHY_OR_SEXUALIZED_CONTENT,
    "violence/animal-cruelty": StatementCategory.ANIMAL_WELFARE,
    "violence": StatementCategory.VIOLENCE,
    "self-harm": StatementCategory.SELF_HARM,
    "hate": StatementCategory.ILLEGAL_OR_HARMFUL_SPEECH,
    "harassment": StatementCategory.ONLINE_BULLYING_INTIMIDATION,
    "extremism": StatementCategory.RISK_FOR_PUBLIC_SECURITY,
    "weapons": StatementCategory.RISK_FOR_PUBLIC_SECURITY,
    "drugs": StatementCategory.UNSAFE_AND_ILLEGAL_PRODUCTS,
    "illicit": StatementCategory.RISK_FOR_PUBLIC_SECURITY,
    "malware": StatementCategory.RISK_FOR_PUBLIC_SECURITY,
    "critical-infrastructure": StatementCategory.RISK_FOR_PUBLIC_SECURITY,
    "fraud": StatementCategory.SCAMS_AND_FRAUD,
    "spam": StatementCategory.SCAMS_AND_FRAUD,
    "disinformation": StatementCategory.NEGATIVE_EFFECTS_ON_CIVIC_DISCOURSE_OR_ELECTIONS,
    "elections": StatementCategory.NEGATIVE_EFFECTS_ON_CIVIC_DISCOURSE_OR_ELECTIONS,
    "impersonation": StatementCategory.NON_CONSENSUAL_BEHAVIOUR,
    "privacy": StatementCategory.DATA_PROTECTION_AND_PRIVACY_VIOLATIONS,
    "surveillance": StatementCategory.DATA_PROTECTION_AND_PRIVACY_VIOLATIONS,
    "intellectual-property": StatementCategory.INTELLECTUAL_PROPERTY_INFRINGEMENTS,
}
# categories whose content is illegal (not only against the terms) by default
ILLEGAL_CATEGORIES = frozenset({"sexual/minors"})

# restriction steps: what each means in the database's terms
_RESTRICTIONS: dict[str, dict[str, Any]] = {
    "content_removal": {"decision_visibility": [DecisionVisibility.CONTENT_REMOVED]},
    "account_restriction": {"decision_provision": DecisionProvision.PARTIAL_SUSPENSION},
    "temporary_suspension": {
        "decision_account": DecisionAccount.SUSPENDED,
        "decision_provision": DecisionProvision.TOTAL_SUSPENSION,
    },
    "permanent_ban": {
        "decision_account": DecisionAccount.TERMINATED,
        "decision_provision": DecisionProvision.TOTAL_TERMINATION,
    },
    "credit_forfeiture": {
        "decision_monetary": DecisionMonetary.OTHER,
        "decision_monetary_other": "Forfeiture of the account's prepaid credits.",
    },
}
RESTRICTION_STEPS = frozenset(_RESTRICTIONS)

_PERSONAL_DATA = (
    ("an email address", re.compile(r"[\w.+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")),
    (
        "an IP address",
        re.compile(r"\b(?:\d{1,3}\.){3}\d{1,3}\b|\b[0-9a-f]{1,4}(?::[0-9a-f]{1,4}){4,7}\b", re.I),
    ),
    ("a phone number", re.compile(r"\+?\d[\d ()-]{8,}\d")),
    ("an aupguard account id", re.compile(r"\bacc_[A-Za-z0-9]+")),
)
_FREE_TEXT = (
    "decision_visibility_other",
    "decision_monetary_other",
    "illegal_content_legal_ground",
    "illegal_content_explanation",
    "incompatible_content_ground",
    "incompatible_content_explanation",
    "content_type_other",
    "decision_facts",
    "source_identity",
)


def personal_data_in(text: str) -> str | None:
    """What kind of personal data ``text`` seems to hold, or None."""
    for name, pattern in _PERSONAL_DATA:
        if pattern.search(text):
            return name
    return None


Short = Annotated[str, Field(min_length=1, max_length=500)]


class StatementOfReasons(BaseModel):
    """One statement, field names and values as the DSA transparency database takes them.
    Unknown fields are refused; dates are ``YYYY-MM-DD``."""

    model_config = ConfigDict(extra="forbid", frozen=True, use_enum_values=True)

    decision_visibility: list[DecisionVisibility] | None = None
    decision_visibility_other: Short | None = None
    decision_monetary: DecisionMonetary | None = None
    decision_monetary_other: Short | None = None
    decision_provision: DecisionProvision | None = None
    decision_account: DecisionAccount | None = None
    account_type: AccountType | None = None
    decision_ground: DecisionGround
    decision_ground_reference_url: Annotated[str, Field(max_length=500)] | None = None
    illegal_content_legal_ground: Short | None = None
    illegal_content_explanation: Annotated[str, Field(max_length=2000)] | None = None
    incompatible_content_ground: Short | None = None
    incompatible_content_explanation: Annotated[str, Field(max_length=2000)] | None = None
    incompatible_content_illegal: YesNo | None = None
    content_type: Annotated[list[ContentType], Field(min_length=1)]
    content_type_other: Short | None = None
    category: StatementCategory
    category_addition: list[StatementCategory] | None = None
    territorial_scope: list[Annotated[str, Field(pattern=r"^[A-Z]{2}$")]] | None = None
    content_language: Annotated[str, Field(pattern=r"^[A-Z]{2}$")] | None = None
    content_date: Annotated[str, Field(pattern=r"^\d{4}-\d{2}-\d{2}$")]
    application_date: Annotated[str, Field(pattern=r"^\d{4}-\d{2}-\d{2}$")]
    end_date_account_restriction: Annotated[str, Field(pattern=r"^\d{4}-\d{2}-\d{2}$")] | None = (
        None
    )
    decision_facts: Annotated[str, Field(min_length=1, max_length=MAX_FACTS)]
    source_type: SourceType
    source_identity: Short | None = None
    automated_detection: YesNo
    automated_decision: AutomatedDecision
    puid: Annotated[str, Field(min_length=1, max_length=500, pattern=r"^[A-Za-z0-9_.:-]+$")]

    @field_validator("territorial_scope")
    @classmethod
    def _eea(cls, value: list[str] | None) -> list[str] | None:
        if value is not None:
            unknown = sorted(set(value) - set(EEA))
            if unknown:
                raise ValueError(f"not EEA countries: {unknown}")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> StatementOfReasons:
        if not (
            self.decision_visibility
            or self.decision_monetary
            or self.decision_provision
            or self.decision_account
        ):
            raise ValueError("a statement needs at least one restriction (decision_*)")
        pairs = (
            (DecisionVisibility.OTHER in (self.decision_visibility or []),
             "decision_visibility_other"),
            (self.decision_monetary == DecisionMonetary.OTHER, "decision_monetary_other"),
            (ContentType.OTHER in self.content_type, "content_type_other"),
            (self.decision_ground == DecisionGround.ILLEGAL_CONTENT,
             "illegal_content_legal_ground"),
            (self.decision_ground == DecisionGround.ILLEGAL_CONTENT,
             "illegal_content_explanation"),
            (self.decision_ground == DecisionGround.INCOMPATIBLE_CONTENT,
             "incompatible_content_ground"),
            (self.decision_ground == DecisionGround.INCOMPATIBLE_CONTENT,
             "incompatible_content_explanation"),
        )  # fmt: skip
        for needed, name in pairs:
            if needed and not getattr(self, name):
                raise ValueError(f"{name} is required here")
        for name in _FREE_TEXT:
            value = getattr(self, name)
            if value and (found := personal_data_in(value)):
                raise ValueError(f"{name} seems to hold personal data ({found}); leave it out")
        return self

    def to_dsa(self) -> dict[str, Any]:
        """The statement as the database takes it (fields left unset are omitted)."""
        return self.model_dump(mode="json", exclude_none=True)


def json_schema() -> dict[str, Any]:
    """The JSON Schema of a statement, written from the database's published field list."""
    text = resources.files("aupguard.records").joinpath("statement.schema.json").read_text()
    schema: dict[str, Any] = json.loads(text)
    return schema


def dsa_category(category: str | None) -> StatementCategory:
    """The database category of an aupguard category (the terms of service otherwise)."""
    while category:
        if category in CATEGORY_MAP:
            return CATEGORY_MAP[category]
        category = category.rpartition("/")[0]
    return StatementCategory.SCOPE_OF_PLATFORM_SERVICE


def content_types(media_type: str | None, *, generated: bool) -> list[ContentType]:
    """Database content types of an item: a generated item is also synthetic media."""
    media = (media_type or "").split(";")[0].strip().lower()
    kind = {
        "text": ContentType.TEXT,
        "image": ContentType.IMAGE,
        "video": ContentType.VIDEO,
        "audio": ContentType.AUDIO,
    }.get(media.split("/")[0], ContentType.TEXT if not media else ContentType.OTHER)
    types = [kind]
    if generated:
        types.append(ContentType.SYNTHETIC_MEDIA)
    return types


def _facts(step: str, clause: str | None, category: str | None, automated: bool) -> str:
    who = "Automated moderation" if automated else "A human reviewer"
    what = f"content in the category '{category}'" if category else "a breach of the terms"
    rule = f"clause {clause} of the operator's acceptable use policy" if clause else "the policy"
    return f"{who} found {what}, which {rule} prohibits. Measure taken: {step.replace('_', ' ')}."


def make_statement(
    *,
    puid: str,
    step: str,
    when: dt.datetime,
    category: str | None,
    clause: str | None,
    automated: bool,
    media_type: str | None = None,
    generated: bool = False,
    from_user_report: bool = False,
    until: dt.datetime | None = None,
    content_date: dt.datetime | None = None,
    illegal_categories: frozenset[str] = ILLEGAL_CATEGORIES,
    legal_ground: str = "Criminal law on child sexual abuse material",
    terms_url: str | None = None,
    territorial_scope: Sequence[str] = EEA,
    language: str | None = None,
) -> StatementOfReasons:
    """A statement for one restriction step (``StatementError`` for a step that restricts
    nothing, such as a warning)."""
    if step not in _RESTRICTIONS:
        raise StatementError(f"{step!r} is not a restriction; no statement of reasons is due")
    illegal = category in illegal_categories
    ground = clause or "the acceptable use policy"
    fields: dict[str, Any] = {
        **_RESTRICTIONS[step],
        "decision_ground": (
            DecisionGround.ILLEGAL_CONTENT if illegal else DecisionGround.INCOMPATIBLE_CONTENT
        ),
        "content_type": content_types(media_type, generated=generated),
        "category": dsa_category(category),
        "territorial_scope": list(territorial_scope),
        "content_date": (content_date or when).date().isoformat(),
        "application_date": when.date().isoformat(),
        "decision_facts": _facts(step, clause, category, automated)[:MAX_FACTS],
        "source_type": SourceType.ARTICLE_16 if from_user_report else SourceType.VOLUNTARY,
        "automated_detection": YesNo.NO if from_user_report else YesNo.YES,
        "automated_decision": (
            AutomatedDecision.FULLY if automated else AutomatedDecision.NOT_AUTOMATED
        ),
        "puid": puid,
    }
    if ContentType.OTHER in fields["content_type"]:
        fields["content_type_other"] = f"Generated or uploaded item ({media_type})"
    if illegal:
        fields["illegal_content_legal_ground"] = legal_ground
        fields["illegal_content_explanation"] = (
            f"The content falls in the category '{category}', which is illegal."
        )
    else:
        fields["incompatible_content_ground"] = f"Acceptable use policy, {ground}"[:500]
        fields["incompatible_content_explanation"] = (
            f"The content falls in the category '{category or 'unspecified'}', which the "
            "acceptable use policy prohibits."
        )
        fields["incompatible_content_illegal"] = YesNo.NO
    if terms_url:
        fields["decision_ground_reference_url"] = terms_url
    if until is not None:
        fields["end_date_account_restriction"] = until.date().isoformat()
    if language:
        fields["content_language"] = language.upper()[:2]
    return StatementOfReasons.model_validate(fields)


def statement_from_event(event: Event, *, puid_prefix: str = "aupguard") -> StatementOfReasons:
    """The statement for an ``enforcement.<step>`` event (the executor writes one per step
    it carries out). ``puid`` is ``<prefix>:<action id>``: action ids are never reused."""
    step = event.kind.partition(".")[2]
    if not event.kind.startswith("enforcement.") or step not in _RESTRICTIONS:
        raise StatementError(f"event {event.seq} ({event.kind}) is not a restriction")
    if not event.subject:
        raise StatementError(f"event {event.seq} names no enforcement action")
    data = event.data
    clause = None
    if data.get("clause"):
        clause = f"{data.get('pack')}@{data.get('pack_version')} §{data['clause']}"
    until = data.get("until")
    return make_statement(
        puid=f"{puid_prefix}:{event.subject}",
        step=step,
        when=event.at,
        category=data.get("category"),
        clause=clause,
        automated=event.actor in SYSTEM_ACTORS,
        media_type=data.get("content_type"),
        generated=bool(data.get("generated", False)),
        from_user_report=data.get("source") == "user_report",
        until=dt.datetime.fromisoformat(until) if isinstance(until, str) else None,
    )


def statement_from_decision(
    *,
    decision_id: str,
    decided_at: dt.datetime,
    category: str | None,
    pack_id: str,
    pack_version: str,
    clause_id: str | None,
    media_type: str = "text/plain",
    generated: bool = False,
    automated: bool = True,
    from_user_report: bool = False,
    language: str | None = None,
    puid_prefix: str = "aupguard",
) -> StatementOfReasons:
    """The statement for a request the API blocked (the content was removed: not
    generated, or not delivered). ``decision_id`` must be unique and never reused (the
    API's decision id). Give ``generated=True`` for a blocked output (synthetic media)."""
    clause = f"{pack_id}@{pack_version} §{clause_id}" if clause_id else f"{pack_id}@{pack_version}"
    return make_statement(
        puid=f"{puid_prefix}:{decision_id}",
        step="content_removal",
        when=decided_at,
        category=category,
        clause=clause,
        automated=automated,
        media_type=media_type,
        generated=generated,
        from_user_report=from_user_report,
        language=language,
    )


def statements_from_events(
    events: Iterable[Event], *, puid_prefix: str = "aupguard"
) -> list[StatementOfReasons]:
    """Statements for every restriction among ``events`` (reversed ones included: the
    database keeps the original decision)."""
    out = []
    for event in events:
        if event.kind.startswith("enforcement.") and event.kind.partition(".")[2] in (
            RESTRICTION_STEPS
        ):
            out.append(statement_from_event(event, puid_prefix=puid_prefix))
    return out


CSV_COLUMNS = tuple(StatementOfReasons.model_fields)


def _csv_cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def export_batches(
    statements: Sequence[StatementOfReasons],
    out_dir: Path,
    *,
    fmt: str = "json",
    batch_size: int = MAX_BATCH,
    prefix: str = "statements",
) -> list[Path]:
    """Write ``statements`` in files of at most ``batch_size`` (≤ 100) each:
    ``<prefix>-0001.json`` or ``.csv``. Returns the files written."""
    if not 1 <= batch_size <= MAX_BATCH:
        raise StatementError(f"batch size must be 1..{MAX_BATCH}, got {batch_size}")
    if fmt not in ("json", "csv"):
        raise StatementError(f"unknown format {fmt!r}: use json or csv")
    puids = [s.puid for s in statements]
    if len(set(puids)) != len(puids):
        raise StatementError("two statements share a puid; a puid is never reused")
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for number, start in enumerate(range(0, len(statements), batch_size), start=1):
        batch = statements[start : start + batch_size]
        path = out_dir / f"{prefix}-{number:04d}.{fmt}"
        if fmt == "json":
            body = {"statements": [s.to_dsa() for s in batch]}
            path.write_text(json.dumps(body, ensure_ascii=False, indent=1) + "\n", "utf-8")
        else:
            with path.open("w", encoding="utf-8", newline="") as handle:
                writer = csv.writer(handle)
                writer.writerow(CSV_COLUMNS)
                for s in batch:
                    row = s.model_dump(mode="json")
                    writer.writerow([_csv_cell(row[c]) for c in CSV_COLUMNS])
        written.append(path)
    return written
