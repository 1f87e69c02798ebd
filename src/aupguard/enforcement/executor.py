"""The one executor: turns verdicts into strikes and ladder steps (or the CSAM path), carries
out every ``EnforcementAction``, and reverses any step on a reviewer's word. Every step is
recorded as an event with its reason and clause."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from pathlib import Path

from pydantic import BaseModel, ConfigDict

from aupguard.enforcement.actions import BLOCKING_KINDS, ActionKind, EnforcementAction
from aupguard.enforcement.ladder import Standing, plan_strike, steps_of
from aupguard.enforcement.report import (
    Classification,
    CyberTipReport,
    ReportedContent,
    ReportedPerson,
    new_report_id,
    reports_dir_from_env,
    write_report,
)
from aupguard.enforcement.settings import LadderSettings
from aupguard.enforcement.vault import EvidenceVault
from aupguard.engine.verdict import ClauseHit, Verdict
from aupguard.errors import AupguardError
from aupguard.policy.models import Action, LadderStep, PolicyPack
from aupguard.store import Store
from aupguard.store.records import IdentifierKind, RecordedAction

# links strong enough to put another account under review after a CSAM ban (a shared IP
# network alone is not: schools, offices and carriers share them)
STRONG_LINKS = frozenset({IdentifierKind.EMAIL, IdentifierKind.DEVICE, IdentifierKind.PAYMENT})
SYSTEM = "system"


class EnforcementError(AupguardError):
    code = "enforcement_error"


class EnforcedItem(BaseModel):
    """The item a verdict was about, as enforcement needs it (the CSAM path vaults
    ``content``; nothing else keeps it)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    reference: str | None = None  # request or item id
    content: bytes | None = None
    content_type: str = "text/plain; charset=utf-8"
    prompt: str | None = None
    ip: str | None = None
    api_key_prefix: str | None = None
    occurred_at: dt.datetime | None = None


class AccountStanding(BaseModel):
    """Whether an account may use the service now, and why not."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    account_id: str
    banned: bool
    suspended_until: dt.datetime | None
    reason: str | None
    active_points: int

    @property
    def blocked(self) -> bool:
        return self.banned or self.suspended_until is not None


class Enforcer:
    def __init__(
        self,
        store: Store,
        pack: PolicyPack,
        *,
        settings: LadderSettings | None = None,
        vault: EvidenceVault | None = None,
        reports_dir: Path | None = None,
        reporter: str = "aupguard operator",
    ):
        self.store = store
        self.pack = pack
        self.settings = settings or LadderSettings()
        self._vault = vault
        self.reports_dir = reports_dir or reports_dir_from_env()
        self.reporter = reporter

    @property
    def vault(self) -> EvidenceVault:
        if self._vault is None:
            self._vault = EvidenceVault(
                self.store, retention=dt.timedelta(days=self.settings.vault_retention_days)
            )
        return self._vault

    # -- standing ------------------------------------------------------------------------

    def standing(self, account_id: str) -> AccountStanding:
        now = self.store.now()
        actions = self.store.enforcement.actions(account_id)
        in_force = [a for a in actions if a.in_force(now) and a.step in BLOCKING_KINDS]
        bans = [a for a in in_force if a.step == ActionKind.PERMANENT_BAN]
        suspensions = [a for a in in_force if a.step == ActionKind.TEMPORARY_SUSPENSION]
        points = sum(s.weight for s in self.store.enforcement.strikes(account_id, active_only=True))
        until = max((a.until for a in suspensions if a.until), default=None)
        reason = bans[0].reason if bans else (suspensions[-1].reason if suspensions else None)
        return AccountStanding(
            account_id=account_id,
            banned=bool(bans),
            suspended_until=None if bans else until,
            reason=reason,
            active_points=points,
        )

    def _ladder_standing(self, account_id: str) -> Standing:
        now = self.store.now()
        window = dt.timedelta(days=self.settings.strike_expiry_days)
        actions = self.store.enforcement.actions(account_id)
        suspensions = [
            a
            for a in actions
            if a.step == ActionKind.TEMPORARY_SUSPENSION
            and a.reversed_at is None
            and a.created_at > now - window
        ]
        public = self.standing(account_id)
        return Standing(
            active_points=public.active_points,
            suspensions_in_window=len(suspensions),
            banned=public.banned,
            suspended_until=public.suspended_until,
        )

    # -- verdicts ------------------------------------------------------------------------

    def csam_hit(self, verdict: Verdict) -> ClauseHit | None:
        for hit in verdict.clauses:
            if hit.category == self.settings.csam_category and hit.action is Action.BLOCK:
                return hit
        return None

    def record_verdict(
        self,
        account_id: str,
        verdict: Verdict,
        item: EnforcedItem | None = None,
        *,
        actor: str = SYSTEM,
    ) -> list[RecordedAction]:
        """Strike and ladder for a blocked verdict, the CSAM path for a ``sexual/minors``
        block, nothing for anything else. Returns the steps carried out."""
        self.store.accounts.get(account_id)  # an unknown account is an error, not a no-op
        item = item or EnforcedItem()
        csam = self.csam_hit(verdict)
        if csam is not None:
            return self._csam_path(account_id, verdict, csam, item, actor)
        plan = plan_strike(
            self.pack, verdict, account_id, self._ladder_standing(account_id), self.settings
        )
        if plan.strike is not None:
            s = plan.strike
            self.store.enforcement.add_strike(
                account_id,
                pack_id=s.pack_id,
                pack_version=s.pack_version,
                clause_id=s.clause_id,
                category=s.category,
                weight=s.weight,
                expires_after=dt.timedelta(days=self.settings.strike_expiry_days),
                reference=item.reference,
                actor=actor,
            )
            # plan the ladder again on the standing read after the strike is written: a
            # strike written by a concurrent request (another worker) between the first read
            # and this write counts too, so the last request to read sees every strike and the
            # step their points reach is taken (at worst twice, never lost)
            after = self._ladder_standing(account_id)
            others = after.model_copy(
                update={"active_points": max(0, after.active_points - s.weight)}
            )
            plan = plan_strike(self.pack, verdict, account_id, others, self.settings)
        return self.execute(plan.actions, actor=actor)

    def execute(
        self, actions: Sequence[EnforcementAction], *, actor: str = SYSTEM
    ) -> list[RecordedAction]:
        done: list[RecordedAction] = []
        for action in actions:
            done.append(self._carry_out(action, actor))
        return done

    def _carry_out(self, action: EnforcementAction, actor: str, **extra: object) -> RecordedAction:
        until = None
        ledger_entry_id = None
        data: dict[str, object] = dict(action.data)
        if action.kind is ActionKind.TEMPORARY_SUSPENSION:
            if action.duration is None or action.duration <= dt.timedelta(0):
                raise EnforcementError("a temporary suspension needs a positive duration")
            until = self.store.now() + action.duration
        elif action.kind is ActionKind.CREDIT_FORFEITURE:
            entry = self.store.credits.forfeit(action.account_id, reason=action.reason, actor=actor)
            ledger_entry_id = entry.id if entry else None
            data["amount"] = -entry.amount if entry else 0
        data.update(extra)
        return self.store.enforcement.add_action(
            action.account_id,
            step=action.kind.value,
            reason=action.reason,
            step_id=action.step_id,
            pack_id=action.pack_id,
            pack_version=action.pack_version,
            clause_id=action.clause_id,
            category=action.category,
            until=until,
            ledger_entry_id=ledger_entry_id,
            data=data,
            actor=actor,
        )

    # -- the CSAM path -------------------------------------------------------------------

    def _csam_path(
        self, account_id: str, verdict: Verdict, hit: ClauseHit, item: EnforcedItem, actor: str
    ) -> list[RecordedAction]:
        """No strike: a permanent ban, evidence into the vault, a report package, and every
        strongly linked account flagged for review."""
        steps = steps_of(self.pack)
        account = self.store.accounts.get(account_id)
        org = self.store.accounts.org(account.org_id)
        base = {
            "account_id": account_id,
            "pack_id": self.pack.id,
            "pack_version": self.pack.version,
            "clause_id": hit.clause_id,
            "category": hit.category,
        }
        cited = f"{hit.citation} ({hit.category}, score {hit.score:.2f})"
        done: list[RecordedAction] = []

        ban_step = steps.get(LadderStep.PERMANENT_BAN)
        if not self.standing(account_id).banned:
            done.append(
                self._carry_out(
                    EnforcementAction(
                        kind=ActionKind.PERMANENT_BAN,
                        step_id=ban_step.id if ban_step else "csam-ban",
                        reason=f"immediate permanent ban, child sexual abuse material: {cited}",
                        **base,
                    ),
                    actor,
                )
            )
        if LadderStep.CREDIT_FORFEITURE in steps:
            done.append(
                self._carry_out(
                    EnforcementAction(
                        kind=ActionKind.CREDIT_FORFEITURE,
                        step_id=steps[LadderStep.CREDIT_FORFEITURE].id,
                        reason=f"remaining credits forfeited: {cited}",
                        **base,
                    ),
                    actor,
                )
            )

        content = item.content
        if content is None:
            content = (item.prompt or "").encode("utf-8")
        sealed = self.vault.seal(
            content,
            content_type=item.content_type,
            category=hit.category,
            account_id=account_id,
            actor=actor,
            purpose=f"CSAM evidence under {hit.citation}",
        )
        done.append(
            self._carry_out(
                EnforcementAction(
                    kind=ActionKind.PRESERVE_EVIDENCE,
                    step_id="csam-vault",
                    reason=f"evidence preserved until {sealed.retain_until:%Y-%m-%d}: {cited}",
                    data={"vault_item_id": sealed.id, "sha256": sealed.sha256},
                    **base,
                ),
                actor,
            )
        )

        links = [
            link
            for link in self.store.accounts.links(account_id)
            if STRONG_LINKS & set(link.shared)
        ]
        identifiers = self.store.accounts.identifiers(account_id)
        ips = tuple(
            sorted(
                {*(identifiers.get(IdentifierKind.NETWORK, [])), *([item.ip] if item.ip else [])}
            )
        )
        now = self.store.now()
        report = CyberTipReport(
            report_id=new_report_id(now),
            incident_time=item.occurred_at or now,
            prepared_at=now,
            reporter=self.reporter,
            reported_person=ReportedPerson(
                account_id=account_id,
                external_id=account.external_id,
                email=account.email,
                organisation_id=org.id,
                organisation_name=org.name,
                ip_addresses=ips,
                api_key_prefix=item.api_key_prefix,
                account_created_at=account.created_at,
            ),
            content=ReportedContent(
                sha256=sealed.sha256,
                content_type=sealed.content_type,
                vault_item_id=sealed.id,
                prompt=item.prompt,
                reference=item.reference,
            ),
            classification=Classification(
                category=hit.category,
                pack=f"{hit.pack_id}@{hit.pack_version}",
                clause=hit.clause_id,
                clause_quote=hit.quote,
                score=hit.score,
                detectors=tuple(f"{d.name}@{d.version}" for d in verdict.detectors),
            ),
            linked_accounts=tuple(link.account_id for link in links),
            retention_until=sealed.retain_until,
        )
        report_step = steps.get(LadderStep.REPORT_TO_AUTHORITIES)
        reason = f"report package {report.report_id} prepared for the NCMEC CyberTipline"
        report_data: dict[str, object] = {"report_id": report.report_id}
        try:
            path = write_report(report, self.reports_dir)
        except OSError as exc:
            # a full or read-only disk must not lose the report: the step is recorded as not
            # written, naming the sealed evidence it is prepared from (the ban and the vault
            # item are already in the database); never the content itself, which the event
            # log must not hold
            reason += (
                f"; NOT WRITTEN to {self.reports_dir} ({exc.strerror or exc}): prepare it "
                f"again from vault item {sealed.id} once the disk is fixed"
            )
            report_data |= {"path": None, "write_error": str(exc), "vault_item_id": sealed.id}
        else:
            self.store.vault.set_report_path(sealed.id, str(path))
            report_data["path"] = str(path)
        done.append(
            self._carry_out(
                EnforcementAction(
                    kind=ActionKind.REPORT_TO_AUTHORITIES,
                    step_id=report_step.id if report_step else "csam-report",
                    reason=reason,
                    data=report_data,
                    **base,
                ),
                actor,
            )
        )

        for link in links:
            shared = ", ".join(f"{k.value} {', '.join(v)}" for k, v in sorted(link.shared.items()))
            done.append(
                self._carry_out(
                    EnforcementAction(
                        kind=ActionKind.FLAG_FOR_REVIEW,
                        account_id=link.account_id,
                        step_id="csam-linked-review",
                        pack_id=self.pack.id,
                        pack_version=self.pack.version,
                        clause_id=hit.clause_id,
                        category=hit.category,
                        reason=f"linked to account {account_id}, banned for CSAM (shares {shared})",
                        data={"banned_account": account_id},
                    ),
                    actor,
                )
            )
        return done

    # -- reversal ------------------------------------------------------------------------

    def reverse(self, action_id: str, *, actor: str, reason: str) -> RecordedAction:
        """Undo a step on a reviewer's word; a forfeiture gives the credits back. Evidence
        and reports are under legal hold and cannot be reversed."""
        action = self.store.enforcement.action(action_id)
        if action.step in (ActionKind.PRESERVE_EVIDENCE, ActionKind.REPORT_TO_AUTHORITIES):
            raise EnforcementError(
                f"{action.step} ({action_id}) is under legal hold and cannot be reversed"
            )
        reversed_action = self.store.enforcement.reverse_action(
            action_id, actor=actor, reason=reason
        )
        if action.step == ActionKind.CREDIT_FORFEITURE and action.ledger_entry_id is not None:
            self.store.credits.restore(
                action.ledger_entry_id, reason=f"reversal: {reason}", actor=actor
            )
        return reversed_action

    def reverse_strike(self, strike_id: int, *, actor: str, reason: str) -> None:
        self.store.enforcement.reverse_strike(strike_id, actor=actor, reason=reason)
