"""Plans, organisations (the operator's customers), accounts (end users), age attestations,
policy acceptances, declared use cases and the identifiers that link accounts."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from typing import TYPE_CHECKING, TypeVar

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from aupguard.store.errors import AccountClosedError, NotFoundError, StoreError
from aupguard.store.identity import network_of, normalize_email
from aupguard.store.ids import new_id
from aupguard.store.records import (
    Account,
    AccountLink,
    AgeAttestation,
    AgeMethod,
    IdentifierKind,
    Organisation,
    Plan,
    PolicyAcceptance,
    UseCase,
)
from aupguard.store.schema import (
    AccountIdentifierRow,
    AccountRow,
    AgeAttestationRow,
    Base,
    OrganisationRow,
    PlanRow,
    PolicyAcceptanceRow,
    UseCaseRow,
)

if TYPE_CHECKING:
    from aupguard.store.db import Store

RowT = TypeVar("RowT", bound=Base)
SYSTEM = "system"


def get_row(session: Session, model: type[RowT], ident: str | int, kind: str) -> RowT:
    row = session.get(model, ident)
    if row is None:
        raise NotFoundError(kind, str(ident))
    return row


class AccountRepository:
    def __init__(self, store: Store):
        self._store = store

    # -- plans ---------------------------------------------------------------------------

    def put_plan(self, plan: Plan, *, actor: str = SYSTEM) -> Plan:
        """Create or replace a plan (validated by ``Plan``)."""
        with self._store.session(write=True) as s:
            row = s.get(PlanRow, plan.id)
            fields = plan.model_dump(exclude={"created_at"})
            if row is None:
                row = PlanRow(**fields, created_at=self._store.now())
                s.add(row)
            else:
                for name, value in fields.items():
                    setattr(row, name, value)
            s.flush()
            self._store.events.append(
                s, "plan.put", actor=actor, subject=plan.id, data=plan.model_dump(mode="json")
            )
            return Plan.model_validate(row)

    def plan(self, plan_id: str) -> Plan:
        with self._store.session() as s:
            return Plan.model_validate(get_row(s, PlanRow, plan_id, "plan"))

    def plans(self) -> list[Plan]:
        with self._store.session() as s:
            return [Plan.model_validate(r) for r in s.scalars(select(PlanRow).order_by(PlanRow.id))]

    def plan_for(self, account_id: str) -> Plan | None:
        """The account's own plan, else its organisation's, else None (no limits)."""
        with self._store.session() as s:
            account = get_row(s, AccountRow, account_id, "account")
            plan_id = account.plan_id
            if plan_id is None:
                plan_id = get_row(s, OrganisationRow, account.org_id, "organisation").plan_id
            return None if plan_id is None else Plan.model_validate(s.get(PlanRow, plan_id))

    # -- organisations -------------------------------------------------------------------

    def create_org(
        self, name: str, *, plan_id: str | None = None, actor: str = SYSTEM
    ) -> Organisation:
        if not name.strip():
            raise StoreError("an organisation needs a name")
        with self._store.session(write=True) as s:
            if plan_id is not None:
                get_row(s, PlanRow, plan_id, "plan")
            row = OrganisationRow(
                id=new_id("org"), name=name.strip(), plan_id=plan_id, created_at=self._store.now()
            )
            s.add(row)
            s.flush()
            self._store.events.append(
                s,
                "org.created",
                actor=actor,
                org_id=row.id,
                subject=row.id,
                data={"name": row.name, "plan_id": plan_id},
            )
            return Organisation.model_validate(row)

    def org(self, org_id: str) -> Organisation:
        with self._store.session() as s:
            return Organisation.model_validate(get_row(s, OrganisationRow, org_id, "organisation"))

    def orgs(self) -> list[Organisation]:
        with self._store.session() as s:
            rows = s.scalars(select(OrganisationRow).order_by(OrganisationRow.created_at))
            return [Organisation.model_validate(r) for r in rows]

    # -- accounts ------------------------------------------------------------------------

    def create(
        self,
        org_id: str,
        *,
        external_id: str | None = None,
        email: str | None = None,
        plan_id: str | None = None,
        actor: str = SYSTEM,
    ) -> Account:
        """A new end-user account. ``email`` is kept with its normalised form, which links
        accounts for the multi-account and ban-evasion checks."""
        normalized = normalize_email(email) if email else None
        with self._store.session(write=True) as s:
            get_row(s, OrganisationRow, org_id, "organisation")
            if plan_id is not None:
                get_row(s, PlanRow, plan_id, "plan")
            now = self._store.now()
            row = AccountRow(
                id=new_id("acct"),
                org_id=org_id,
                external_id=external_id,
                email=email,
                email_normalized=normalized,
                plan_id=plan_id,
                created_at=now,
                closed_at=None,
            )
            s.add(row)
            try:
                s.flush()
            except IntegrityError:
                raise StoreError(
                    f"organisation {org_id!r} already has an account with external id "
                    f"{external_id!r}"
                ) from None
            if normalized:
                self._add_identifier(s, row.id, IdentifierKind.EMAIL, normalized)
            self._store.events.append(
                s,
                "account.created",
                actor=actor,
                account_id=row.id,
                org_id=org_id,
                subject=row.id,
                data={"external_id": external_id, "plan_id": plan_id},
            )
            return Account.model_validate(row)

    def get(self, account_id: str) -> Account:
        with self._store.session() as s:
            return Account.model_validate(get_row(s, AccountRow, account_id, "account"))

    def find(self, org_id: str, external_id: str) -> Account:
        with self._store.session() as s:
            row = s.scalar(
                select(AccountRow).where(
                    AccountRow.org_id == org_id, AccountRow.external_id == external_id
                )
            )
            if row is None:
                raise NotFoundError("account", f"{org_id}/{external_id}")
            return Account.model_validate(row)

    def all(self, *, org_id: str | None = None, limit: int = 1000) -> list[Account]:
        query = select(AccountRow).order_by(AccountRow.created_at, AccountRow.id).limit(limit)
        if org_id is not None:
            query = query.where(AccountRow.org_id == org_id)
        with self._store.session() as s:
            return [Account.model_validate(r) for r in s.scalars(query)]

    def set_plan(self, account_id: str, plan_id: str | None, *, actor: str = SYSTEM) -> Account:
        with self._store.session(write=True) as s:
            row = get_row(s, AccountRow, account_id, "account")
            if plan_id is not None:
                get_row(s, PlanRow, plan_id, "plan")
            row.plan_id = plan_id
            self._store.events.append(
                s,
                "account.plan_set",
                actor=actor,
                account_id=account_id,
                org_id=row.org_id,
                subject=account_id,
                data={"plan_id": plan_id},
            )
            return Account.model_validate(row)

    def close(self, account_id: str, *, actor: str = SYSTEM, reason: str = "") -> Account:
        with self._store.session(write=True) as s:
            row = get_row(s, AccountRow, account_id, "account")
            if row.closed_at is not None:
                raise AccountClosedError(f"account {account_id!r} is already closed")
            row.closed_at = self._store.now()
            self._store.events.append(
                s,
                "account.closed",
                actor=actor,
                account_id=account_id,
                org_id=row.org_id,
                subject=account_id,
                data={"reason": reason},
            )
            return Account.model_validate(row)

    # -- age, policy acceptance, use cases -----------------------------------------------

    def attest_age(
        self,
        account_id: str,
        *,
        method: AgeMethod,
        age_years: int | None = None,
        parental_consent: bool = False,
        actor: str = SYSTEM,
    ) -> AgeAttestation:
        if age_years is not None and not 0 <= age_years <= 130:
            raise StoreError(f"age {age_years} is not a plausible age in years")
        if method is not AgeMethod.FAILED and age_years is None and not parental_consent:
            raise StoreError("an age attestation needs an age or a parental consent")
        with self._store.session(write=True) as s:
            account = get_row(s, AccountRow, account_id, "account")
            row = AgeAttestationRow(
                account_id=account_id,
                method=method.value,
                age_years=age_years,
                parental_consent=parental_consent,
                recorded_at=self._store.now(),
            )
            s.add(row)
            s.flush()
            self._store.events.append(
                s,
                "account.age_attested",
                actor=actor,
                account_id=account_id,
                org_id=account.org_id,
                subject=account_id,
                data={
                    "method": method.value,
                    "age_years": age_years,
                    "parental_consent": parental_consent,
                },
            )
            return AgeAttestation.model_validate(row)

    def age_attestation(self, account_id: str) -> AgeAttestation | None:
        """The latest attestation, or None if the account never attested."""
        with self._store.session() as s:
            get_row(s, AccountRow, account_id, "account")
            row = s.scalar(
                select(AgeAttestationRow)
                .where(AgeAttestationRow.account_id == account_id)
                .order_by(AgeAttestationRow.id.desc())
                .limit(1)
            )
            return None if row is None else AgeAttestation.model_validate(row)

    def accept_policy(
        self, account_id: str, pack_id: str, pack_version: str, *, actor: str = SYSTEM
    ) -> PolicyAcceptance:
        with self._store.session(write=True) as s:
            account = get_row(s, AccountRow, account_id, "account")
            row = PolicyAcceptanceRow(
                account_id=account_id,
                pack_id=pack_id,
                pack_version=pack_version,
                accepted_at=self._store.now(),
            )
            s.add(row)
            s.flush()
            self._store.events.append(
                s,
                "account.policy_accepted",
                actor=actor,
                account_id=account_id,
                org_id=account.org_id,
                subject=f"{pack_id}@{pack_version}",
            )
            return PolicyAcceptance.model_validate(row)

    def acceptances(self, account_id: str) -> list[PolicyAcceptance]:
        with self._store.session() as s:
            rows = s.scalars(
                select(PolicyAcceptanceRow)
                .where(PolicyAcceptanceRow.account_id == account_id)
                .order_by(PolicyAcceptanceRow.id)
            )
            return [PolicyAcceptance.model_validate(r) for r in rows]

    def declare_use_case(
        self,
        org_id: str,
        description: str,
        *,
        categories: Iterable[str] = (),
        account_id: str | None = None,
        actor: str = SYSTEM,
    ) -> UseCase:
        if not description.strip():
            raise StoreError("a use case needs a description")
        with self._store.session(write=True) as s:
            get_row(s, OrganisationRow, org_id, "organisation")
            if account_id is not None:
                get_row(s, AccountRow, account_id, "account")
            row = UseCaseRow(
                org_id=org_id,
                account_id=account_id,
                description=description.strip(),
                categories=sorted(set(categories)),
                declared_at=self._store.now(),
            )
            s.add(row)
            s.flush()
            self._store.events.append(
                s,
                "org.use_case_declared",
                actor=actor,
                org_id=org_id,
                account_id=account_id,
                subject=str(row.id),
                data={"categories": row.categories},
            )
            return UseCase.model_validate(row)

    def use_cases(self, org_id: str) -> list[UseCase]:
        with self._store.session() as s:
            rows = s.scalars(
                select(UseCaseRow).where(UseCaseRow.org_id == org_id).order_by(UseCaseRow.id)
            )
            return [UseCase.model_validate(r) for r in rows]

    # -- identifiers and links -----------------------------------------------------------

    def observe(
        self,
        account_id: str,
        *,
        ip: str | None = None,
        device: str | None = None,
        payment: str | None = None,
        email: str | None = None,
    ) -> None:
        """Record identifiers seen for an account (an IP is kept as its network)."""
        values: list[tuple[IdentifierKind, str]] = []
        if ip:
            values.append((IdentifierKind.NETWORK, network_of(ip)))
        if device:
            values.append((IdentifierKind.DEVICE, device.strip()[:200]))
        if payment:
            values.append((IdentifierKind.PAYMENT, payment.strip()[:200]))
        if email:
            values.append((IdentifierKind.EMAIL, normalize_email(email)))
        if not values:
            return
        with self._store.session(write=True) as s:
            get_row(s, AccountRow, account_id, "account")
            for kind, value in values:
                self._add_identifier(s, account_id, kind, value)

    def _add_identifier(
        self, s: Session, account_id: str, kind: IdentifierKind, value: str
    ) -> None:
        now = self._store.now()
        row = s.scalar(
            select(AccountIdentifierRow).where(
                AccountIdentifierRow.account_id == account_id,
                AccountIdentifierRow.kind == kind.value,
                AccountIdentifierRow.value == value,
            )
        )
        if row is None:
            s.add(
                AccountIdentifierRow(
                    account_id=account_id,
                    kind=kind.value,
                    value=value,
                    first_seen=now,
                    last_seen=now,
                )
            )
        else:
            row.last_seen = max(row.last_seen, now)
        s.flush()

    def identifiers(self, account_id: str) -> dict[IdentifierKind, list[str]]:
        with self._store.session() as s:
            rows = s.scalars(
                select(AccountIdentifierRow).where(AccountIdentifierRow.account_id == account_id)
            )
            out: dict[IdentifierKind, list[str]] = defaultdict(list)
            for r in rows:
                out[IdentifierKind(r.kind)].append(r.value)
            return {k: sorted(v) for k, v in out.items()}

    def links(self, account_id: str, *, limit: int = 200) -> list[AccountLink]:
        """Other accounts sharing any identifier with this one, with what they share."""
        mine = select(AccountIdentifierRow.kind, AccountIdentifierRow.value).where(
            AccountIdentifierRow.account_id == account_id
        )
        with self._store.session() as s:
            get_row(s, AccountRow, account_id, "account")
            pairs = [(k, v) for k, v in s.execute(mine)]
            if not pairs:
                return []
            shared: dict[str, dict[IdentifierKind, list[str]]] = defaultdict(
                lambda: defaultdict(list)
            )
            for kind, value in pairs:
                others = s.scalars(
                    select(AccountIdentifierRow.account_id)
                    .where(
                        AccountIdentifierRow.kind == kind,
                        AccountIdentifierRow.value == value,
                        AccountIdentifierRow.account_id != account_id,
                    )
                    .limit(limit)
                )
                for other in others:
                    shared[other][IdentifierKind(kind)].append(value)
            return [
                AccountLink(account_id=other, shared={k: sorted(v) for k, v in kinds.items()})
                for other, kinds in sorted(shared.items())
            ]
