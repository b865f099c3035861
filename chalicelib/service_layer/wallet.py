"""The aibi wallet (RULES.md 4): the ledger writer, exchange of points into aibi, payout
accounts and withdrawals with finance's review.

A member's wallet changes only through ``MemberWallet``: one version-guarded write of
the wallet item plus one immutable entry per change, in the same transaction as what
caused it (the points debit of an exchange, the withdrawal record, the audit entry).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ulid import ULID

from ..adapters.dynamodb.base import iso, shard_of
from ..adapters.dynamodb.identity import MemberItem
from ..adapters.dynamodb.pagination import Page, query_page
from ..adapters.dynamodb.points import CapItem
from ..adapters.dynamodb.uow import UnitOfWork
from ..adapters.dynamodb.wallet import (
    ExchangeWindowItem,
    PayoutAccountItem,
    WalletEntryItem,
    WalletItem,
    WithdrawalItem,
)
from ..adapters.tokens import Principal
from ..bootstrap import Container
from ..domain import identity
from ..domain import wallet as w
from ..domain.approvals import require_second_person
from ..domain.calendar import local_date
from ..domain.errors import (
    AccountFrozen,
    ConcurrentUpdate,
    Conflict,
    DomainError,
    Forbidden,
    InvalidState,
    KycRequired,
    NotFound,
    RuleViolation,
)
from ..domain.holds import HoldState, resolve
from ..domain.identity import MemberStatus
from ..domain.points import EntryKind
from ..domain.wallet import WalletEntryKind, WalletState
from . import legal, step_up
from .accounts import VersionedAccount
from .common import audit, fingerprint, once_per_key, remember, retrying
from .disclosure import record_reveal
from .duties import refuse_own_account
from .members import require_member
from .points_ledger import MemberPoints, balance_pk
from .reviews import kyc_approved_condition, verified_real_name


class ExchangeClosed(Conflict):
    """No exchange window is open now."""

    code = "exchange_closed"
    default_message = "Points can be exchanged only while an exchange window is open."


class ExchangeCapExceeded(RuleViolation):
    """The exchange would pass this window's per-member cap."""

    code = "exchange_cap_exceeded"
    default_message = "This would pass the exchange limit of the current window."


class WindowOverlaps(Conflict):
    """Exchange windows may not overlap (a member's cap must be unambiguous)."""

    code = "window_overlaps"
    default_message = "This window overlaps another exchange window."


class PayoutAccountRequired(RuleViolation):
    """A withdrawal needs a payout account in the verified member's own name."""

    code = "payout_account_required"
    default_message = "Add a payout account in your own (verified) name first."


class InvalidPayoutAccount(RuleViolation):
    """The account number or Alipay account is not valid."""

    code = "invalid_payout_account"
    default_message = "This is not a valid account."


class DailyWithdrawalLimit(RuleViolation):
    """The day's withdrawals would pass the daily limit."""

    code = "daily_limit_exceeded"
    default_message = "This would pass today's withdrawal limit."


class PayoutAccountNotRecorded(Conflict):
    """The withdrawal holds no payout account: the member closed the account since (its
    personal data is erased), or it was requested before snapshots were taken."""

    code = "payout_account_not_recorded"
    default_message = "This withdrawal holds no payout account any more."


class WithdrawalNotFound(NotFound):
    """No withdrawal has this id."""

    code = "not_found"
    default_message = "No such withdrawal."


@dataclass
class _Entry:
    kind: WalletEntryKind
    before: WalletState
    after: WalletState
    ref: str | None
    note: str | None


class MemberWallet(VersionedAccount[_Entry]):
    balance_model = WalletItem

    def __init__(self, c: Container, member_id: str, item: WalletItem | None) -> None:
        super().__init__(member_id, item)
        self.c = c
        self.state = WalletState(int(item.balance_fen), int(item.held_fen)) if item else WalletState()
        self.open_withdrawals = int(item.open_withdrawals) if item else 0
        self._now = c.now()

    @classmethod
    def of(cls, uow: UnitOfWork, c: Container, member_id: str) -> MemberWallet:
        return uow.shared(
            ("wallet", member_id),
            lambda: cls(c, member_id, WalletItem.get_or_none(balance_pk(member_id), WalletItem.SK)),
        )

    def _record(self, kind: WalletEntryKind, after: WalletState, ref: str | None, note: str | None = None) -> None:
        self._entries.append(_Entry(kind, self.state, after, ref, note))
        self.state = after

    def credit(self, amount_fen: int, kind: WalletEntryKind, ref: str, note: str | None = None) -> None:
        self._record(kind, w.credit(self.state, amount_fen), ref, note)

    def debit(self, amount_fen: int, kind: WalletEntryKind, ref: str, note: str | None = None) -> None:
        self._record(kind, w.debit(self.state, amount_fen), ref, note)

    def hold(self, amount_fen: int, kind: WalletEntryKind, ref: str) -> None:
        self._record(kind, w.hold(self.state, amount_fen), ref)

    def _check_still_held(self, amount_fen: int) -> None:
        # A pending hold's amount is always inside held_fen. Less held means the hold
        # record we read is older than this wallet: another resolution of it committed in
        # between. Retrying reads the hold again and gives that resolution's own error.
        if amount_fen > 0 and self.state.held_fen < amount_fen:
            raise ConcurrentUpdate()

    def post(self, amount_fen: int, kind: WalletEntryKind, ref: str) -> None:
        self._check_still_held(amount_fen)
        self._record(kind, w.post(self.state, amount_fen), ref)

    def void(self, amount_fen: int, kind: WalletEntryKind, ref: str) -> None:
        self._check_still_held(amount_fen)
        self._record(kind, w.void(self.state, amount_fen), ref)

    def flush(self, uow: UnitOfWork) -> None:
        if self.changed:
            # RULES.md 1: an account closes only with an empty wallet. Closing checks the
            # wallet in its transaction; this checks the account in ours, so a change that
            # read the member before a concurrent close cannot leave aibi in a closed account.
            guard_status(uow, self.member_id, OPEN_STATUSES)
        super().flush(uow)

    def _balance_item(self, version: int) -> WalletItem:
        return WalletItem(
            pk=balance_pk(self.member_id),
            sk=WalletItem.SK,
            member_id=self.member_id,
            balance_fen=self.state.balance_fen,
            held_fen=self.state.held_fen,
            open_withdrawals=self.open_withdrawals,
            version=version,
            updated_at=self._now,
            gsi2pk=f"WALLETS#{shard_of(self.member_id)}",
            gsi2sk=self.member_id,
        )

    def _entry_item(self, version: int, number: int, entry: _Entry) -> WalletEntryItem:
        return WalletEntryItem(
            pk=balance_pk(self.member_id),
            sk=f"WLEDGER#{version:012d}#{number:03d}",
            entry_id=str(ULID()),
            member_id=self.member_id,
            kind=entry.kind.value,
            amount_fen=entry.after.balance_fen - entry.before.balance_fen,
            held_delta_fen=entry.after.held_fen - entry.before.held_fen,
            balance_after_fen=entry.after.balance_fen,
            held_after_fen=entry.after.held_fen,
            created_at=self._now,
            ref=entry.ref,
            note=entry.note,
        )


def require_active(member: MemberItem) -> None:
    """RULES.md 1: a frozen member cannot spend, exchange or withdraw."""
    if member.status == "frozen":
        raise AccountFrozen()
    if member.status != "active":
        raise Forbidden("This account is not active.")


def require_may_spend(c: Container, member: MemberItem) -> None:
    """The one policy of every spend and withdrawal (mall, draw, pledge, exchange, shop
    aibi payment, withdrawal): the account is active (RULES.md 1) and its member accepted
    every legal document version in force (``consent_outdated``). Inside the transaction
    ``guard_active`` repeats the status; the consent needs no repeat, because acceptance
    only moves forward and no version takes effect before it is published."""
    require_active(member)
    legal.require_current(c, member)


OPEN_STATUSES = frozenset({MemberStatus.ACTIVE.value, MemberStatus.FROZEN.value, MemberStatus.PENDING.value})


class _StatusGuard:
    """One condition on a member's status in a transaction, as strict as every use asks;
    if it fails, the member is read again to say why (closed, frozen, or a race to retry)."""

    def __init__(self, member_id: str) -> None:
        self.member_id = member_id
        self.allowed: frozenset[str] | None = None

    def require(self, allowed: frozenset[str]) -> None:
        self.allowed = allowed if self.allowed is None else self.allowed & allowed

    def _why(self) -> DomainError:
        member = MemberItem.get_or_none(balance_pk(self.member_id), MemberItem.SK)
        if member is None or member.status == MemberStatus.CLOSED:
            return NotFound("No such member.")
        if member.status == MemberStatus.FROZEN:
            return AccountFrozen()
        if self.allowed is not None and member.status in self.allowed:
            return ConcurrentUpdate()
        return Forbidden("This account is not active.")

    def flush(self, uow: UnitOfWork) -> None:
        assert self.allowed is not None
        uow.check(
            MemberItem,
            balance_pk(self.member_id),
            MemberItem.SK,
            MemberItem.status.is_in(*sorted(self.allowed)),
            on_fail=self._why,
        )


def guard_status(uow: UnitOfWork, member_id: str, allowed: frozenset[str]) -> None:
    """Repeat a status check inside the transaction (guard twice, STYLE.md 6)."""
    uow.shared(("status", member_id), lambda: _StatusGuard(member_id)).require(allowed)


def guard_active(uow: UnitOfWork, member_id: str) -> None:
    """A freeze (or a close) that lands while a spend is in flight stops it."""
    guard_status(uow, member_id, frozenset({MemberStatus.ACTIVE.value}))


def wallet_entries(c: Container, member_id: str, limit: int, cursor: str | None) -> Page[WalletEntryItem]:
    return query_page(
        WalletEntryItem,
        balance_pk(member_id),
        cursors=c.cursors,
        limit=limit,
        cursor=cursor,
        range_key_condition=WalletEntryItem.sk.startswith("WLEDGER#"),
        newest_first=True,
    )


def adjust_wallet(
    uow: UnitOfWork, c: Container, member_id: str, amount_fen: int, ref: str, reason: str
) -> tuple[int, int]:
    """A staff correction of aibi: ``(balance before, balance after)``."""
    wallet = MemberWallet.of(uow, c, member_id)
    before = wallet.state.balance_fen
    if amount_fen > 0:
        wallet.credit(amount_fen, WalletEntryKind.ADJUST, ref, reason)
    else:
        wallet.debit(-amount_fen, WalletEntryKind.ADJUST, ref, reason)
    return before, wallet.state.balance_fen


# --- exchange windows and exchange -----------------------------------------------------------------
@dataclass(frozen=True)
class Window:
    window_id: str
    starts_at: datetime
    ends_at: datetime
    max_points_per_member: int | None


def _window(item: ExchangeWindowItem) -> Window:
    cap = int(item.max_points_per_member) if item.max_points_per_member is not None else None
    return Window(item.window_id, item.starts_at, item.ends_at, cap)


def open_windows(after: datetime) -> list[Window]:
    """Windows that end after ``after`` (few: ops open them for holidays and campaigns)."""
    return [
        _window(item) for item in ExchangeWindowItem.by_end.query("EXWINDOWS", ExchangeWindowItem.gsi3sk > iso(after))
    ]


def create_window(
    c: Container, actor: Principal, starts_at: datetime, ends_at: datetime, max_points_per_member: int | None
) -> Window:
    if ends_at <= starts_at:
        raise RuleViolation("ends_at must be after starts_at.")
    if ends_at <= c.now():
        raise RuleViolation("The window would already be over.")
    if max_points_per_member is not None and (max_points_per_member <= 0 or max_points_per_member % 100):
        raise RuleViolation("max_points_per_member must be a positive multiple of 100.")
    if any(other.starts_at < ends_at and starts_at < other.ends_at for other in open_windows(starts_at)):
        raise WindowOverlaps()
    window_id = str(ULID())
    uow = c.uow()
    uow.put(
        ExchangeWindowItem(
            pk=f"EXWINDOW#{window_id}",
            sk=ExchangeWindowItem.SK,
            window_id=window_id,
            starts_at=starts_at,
            ends_at=ends_at,
            max_points_per_member=max_points_per_member,
            created_by=actor.subject,
            created_at=c.now(),
            gsi3pk="EXWINDOWS",
            gsi3sk=f"{iso(ends_at)}#{window_id}",
        )
    )
    audit(
        uow,
        c,
        actor,
        "exchange_window.create",
        "exchange_window",
        window_id,
        None,
        None,
        {"starts_at": iso(starts_at), "ends_at": iso(ends_at), "max_points_per_member": max_points_per_member},
    )
    uow.commit()
    return Window(window_id, starts_at, ends_at, max_points_per_member)


def exchange(c: Container, member_id: str, points: int, key: str | None) -> dict[str, Any]:
    """Points into aibi at 100:1 inside an open window: one atomic write (RULES.md 3.4)."""
    value_fen = w.exchange_value_fen(points, c.rules.wallet)
    print_ = fingerprint({"points": points})

    def attempt() -> dict[str, Any]:
        member = require_member(member_id)
        require_may_spend(c, member)
        now = c.now()
        window = next((win for win in open_windows(now) if win.starts_at <= now < win.ends_at), None)
        if window is None:
            raise ExchangeClosed()
        uow = c.uow()
        guard_active(uow, member_id)
        exchange_id = str(ULID())
        if window.max_points_per_member is not None:
            cap_key = (balance_pk(member_id), f"CAP#exchange#{window.window_id}")
            used = CapItem.get_or_none(*cap_key)
            if (int(used.used) if used else 0) + points > window.max_points_per_member:
                raise ExchangeCapExceeded(limit=window.max_points_per_member)
            uow.update(
                CapItem(pk=cap_key[0], sk=cap_key[1]),
                [CapItem.used.add(points)],
                condition=CapItem.used.does_not_exist() | (CapItem.used <= window.max_points_per_member - points),
                on_fail=ConcurrentUpdate(),
            )
        MemberPoints.of(uow, c, member_id).spend(points, EntryKind.EXCHANGE, ref=exchange_id)
        MemberWallet.of(uow, c, member_id).credit(value_fen, WalletEntryKind.EXCHANGE, exchange_id, f"{points} points")
        outcome = {"points_debited": points, "aibi_credited_fen": value_fen, "exchange_id": exchange_id}
        if key:
            remember(uow, c, f"exchange#{member_id}", key, print_, outcome)
        uow.commit()
        return outcome

    return once_per_key(f"exchange#{member_id}", key, print_, attempt)


# --- payout account --------------------------------------------------------------------------------
_SNAPSHOT_FIELD = "withdrawal-payout"
_BANK_ACCOUNT = re.compile(r"^\d{10,30}$")
_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,190}\.[A-Za-z]{2,}$")


def _normalise_account(kind: str, account: str) -> str:
    account = account.strip().replace(" ", "")
    if kind == "bank":
        if not _BANK_ACCOUNT.match(account):
            raise InvalidPayoutAccount()
        return account
    if _EMAIL.match(account):
        return account.lower()
    try:
        return identity.normalize_phone(account)
    except RuleViolation as exc:
        raise InvalidPayoutAccount() from exc


def set_payout_account(
    c: Container, member_id: str, session_id: str, kind: str, account: str, holder: str
) -> dict[str, str]:
    """Where withdrawals requested from now on are paid. Spends this session's step-up
    proof (``domain.step_up``): a withdrawal to the new account needs the phone again.
    Audited as the member's own action, with masked values only."""
    normalised = _normalise_account(kind, account)
    masked = identity.mask_tail(normalised)
    account_enc = c.cipher.encrypt(normalised, field="payout-account")
    holder_enc = c.cipher.encrypt(holder.strip(), field="payout-holder")

    def attempt() -> dict[str, str]:
        member = require_member(member_id)
        require_active(member)
        previous = PayoutAccountItem.get_or_none(member.pk, PayoutAccountItem.SK)
        uow = c.uow()
        step_up.spend_proof(uow, c, member_id, session_id)
        guard_active(uow, member_id)
        uow.put(
            PayoutAccountItem(
                pk=member.pk,
                sk=PayoutAccountItem.SK,
                member_id=member_id,
                kind=kind,
                account_enc=account_enc,
                holder_enc=holder_enc,
                account_masked=masked,
                updated_at=c.now(),
            )
        )
        audit(
            uow,
            c,
            Principal(subject=member_id, kind="member", roles=frozenset()),
            "payout_account.set",
            "member",
            member_id,
            None,
            previous and {"kind": previous.kind, "account": previous.account_masked},
            {"kind": kind, "account": masked},
        )
        uow.commit()
        return {"kind": kind, "account": masked, "holder": identity.mask_name(holder)}

    return retrying(attempt)


# --- withdrawals -------------------------------------------------------------------------------------
def _verified_name(c: Container, member_id: str) -> str:
    name = verified_real_name(c, member_id)
    if name is None:
        raise KycRequired()
    return name


def _payout_snapshot(c: Container, payout: PayoutAccountItem, holder: str) -> str:
    """The payout account as it is now, encrypted for the withdrawal under its own field."""
    account = c.cipher.decrypt(payout.account_enc, field="payout-account")
    details = {"kind": payout.kind, "account": account, "holder": holder}
    return c.cipher.encrypt(json.dumps(details, ensure_ascii=False), field=_SNAPSHOT_FIELD)


def request_withdrawal(
    c: Container, member_id: str, session_id: str, amount_fen: int, key: str | None
) -> dict[str, Any]:
    """Hold ``amount_fen`` for finance, paid to a snapshot of the payout account as it is
    now. Needs a fresh step-up proof on this session, checked after the idempotency
    record (a retry of a request that committed gets its first answer, proof or not) and
    after every business rule (no code is asked for a request refused anyway)."""
    rules = c.rules.wallet
    quote = w.quote_withdrawal(amount_fen, rules)
    print_ = fingerprint({"amount_fen": amount_fen})

    def attempt() -> dict[str, Any]:
        member = require_member(member_id)
        require_may_spend(c, member)
        name = _verified_name(c, member_id)
        payout = PayoutAccountItem.get_or_none(member.pk, PayoutAccountItem.SK)
        if payout is None or c.cipher.decrypt(payout.holder_enc, field="payout-holder") != name:
            raise PayoutAccountRequired()
        now = c.now()
        day = local_date(now).isoformat()
        cap_key = (member.pk, f"CAP#withdrawal#{day}")
        used = CapItem.get_or_none(*cap_key)
        if (int(used.used) if used else 0) + amount_fen > rules.daily_withdrawal_limit_fen:
            raise DailyWithdrawalLimit(limit_fen=rules.daily_withdrawal_limit_fen)
        uow = c.uow()
        guard_active(uow, member_id)
        kyc_approved_condition(uow, member_id)
        uow.update(
            CapItem(pk=cap_key[0], sk=cap_key[1]),
            [CapItem.used.add(amount_fen)],
            condition=CapItem.used.does_not_exist() | (CapItem.used <= rules.daily_withdrawal_limit_fen - amount_fen),
            on_fail=ConcurrentUpdate(),
        )
        withdrawal_id = str(ULID())
        wallet = MemberWallet.of(uow, c, member_id)
        wallet.hold(amount_fen, WalletEntryKind.WITHDRAWAL_HOLD, withdrawal_id)
        wallet.open_withdrawals += 1
        # last of the checks: the member is asked to prove the phone only for a request
        # that nothing else refuses
        step_up.require_proof(uow, c, member_id, session_id)
        stamp = f"{iso(now)}#{withdrawal_id}"
        uow.put(
            WithdrawalItem(
                pk=f"WITHDRAWAL#{withdrawal_id}",
                sk=WithdrawalItem.SK,
                withdrawal_id=withdrawal_id,
                member_id=member_id,
                amount_fen=quote.amount_fen,
                fee_fen=quote.fee_fen,
                payout_fen=quote.payout_fen,
                status="pending",
                payout_kind=payout.kind,
                payout_account_masked=payout.account_masked,
                payout_holder_masked=identity.mask_name(name),
                payout_enc=_payout_snapshot(c, payout, name),
                requested_at=now,
                gsi1pk=f"WITHDRAWALS#{member_id}",
                gsi1sk=stamp,
                gsi3pk="WITHDRAWALQ#pending",
                gsi3sk=stamp,
            )
        )
        # RULES.md 4: each step of a withdrawal is audited, the member's request included
        audit(
            uow,
            c,
            Principal(subject=member_id, kind="member", roles=frozenset()),
            "withdrawal.request",
            "withdrawal",
            withdrawal_id,
            None,
            {"status": None},
            {
                "status": "pending",
                "member_id": member_id,
                "amount_fen": quote.amount_fen,
                "payout_account": payout.account_masked,
            },
        )
        outcome = {
            "withdrawal_id": withdrawal_id,
            "status": "pending",
            "amount_fen": quote.amount_fen,
            "fee_fen": quote.fee_fen,
            "payout_fen": quote.payout_fen,
        }
        if key:
            remember(uow, c, f"withdrawal#{member_id}", key, print_, outcome)
        uow.commit()
        return outcome

    return once_per_key(f"withdrawal#{member_id}", key, print_, attempt)


_HOLD_STATE = {
    "pending": HoldState.PENDING,
    "approved": HoldState.PENDING,
    "paid": HoldState.POSTED,
    "rejected": HoldState.VOIDED,
}


def withdrawal_view(item: WithdrawalItem) -> dict[str, Any]:
    return {
        "withdrawal_id": item.withdrawal_id,
        "member_id": item.member_id,
        "status": item.status,
        "amount_fen": int(item.amount_fen),
        "fee_fen": int(item.fee_fen),
        "payout_fen": int(item.payout_fen),
        "payout_kind": item.payout_kind,
        "payout_account": item.payout_account_masked,
        "payout_holder": item.payout_holder_masked,
        "requested_at": item.requested_at,
        "decided_at": item.decided_at,
        "reason": item.reason,
        "reference": item.reference,
    }


def review_withdrawal(
    c: Container,
    actor: Principal,
    withdrawal_id: str,
    action: str,
    *,
    reason: str | None = None,
    reference: str | None = None,
    key: str | None = None,
) -> dict[str, Any]:
    """Finance's steps: ``approve`` (pending -> approved), ``paid`` (approved -> paid, the
    hold leaves the wallet; by someone other than the approver) or ``reject``
    (pending/approved -> rejected, the hold returns; anyone with the role).
    Each step is audited and happens once; a retry with the same key gets the first answer."""
    print_ = fingerprint({"action": action, "reason": reason, "reference": reference})

    def attempt() -> dict[str, Any]:
        item = WithdrawalItem.get_or_none(f"WITHDRAWAL#{withdrawal_id}", WithdrawalItem.SK)
        if item is None:
            raise WithdrawalNotFound()
        now = c.now()
        before = item.status
        condition = WithdrawalItem.status == before
        if action != "reject":
            # rejecting only returns the money: anyone with the role may; moving it out may not be one's own
            refuse_own_account(actor, require_member(item.member_id))
        if action == "paid":
            require_second_person(item.approved_by, actor.subject)
            condition &= WithdrawalItem.approved_by != actor.subject
        uow = c.uow()
        actions = [WithdrawalItem.decided_at.set(now), WithdrawalItem.decided_by.set(actor.subject)]
        if action == "approve":
            if before != "pending":
                raise InvalidState(f"This withdrawal is {before}; only a pending one can be approved.")
            after = "approved"
            actions = [
                WithdrawalItem.approved_at.set(now),
                WithdrawalItem.approved_by.set(actor.subject),
                WithdrawalItem.gsi3pk.set("WITHDRAWALQ#approved"),
            ]
        else:
            # the hold ends: paid out (posted) or returned to the balance (voided)
            if action == "paid" and before != "approved":
                raise InvalidState(f"This withdrawal is {before}; it must be approved before it is paid.")
            paid = action == "paid"
            resolve(_HOLD_STATE[before], HoldState.POSTED if paid else HoldState.VOIDED)
            after = "paid" if paid else "rejected"
            wallet = MemberWallet.of(uow, c, item.member_id)
            if paid:
                wallet.post(int(item.amount_fen), WalletEntryKind.WITHDRAWAL_PAID, withdrawal_id)
            else:
                wallet.void(int(item.amount_fen), WalletEntryKind.WITHDRAWAL_RETURNED, withdrawal_id)
            wallet.open_withdrawals -= 1
            actions += [
                WithdrawalItem.reference.set(reference) if paid else WithdrawalItem.reason.set(reason),
                WithdrawalItem.gsi3pk.remove(),
                WithdrawalItem.gsi3sk.remove(),
            ]
        uow.update(
            item,
            [WithdrawalItem.status.set(after), *actions],
            condition=condition,
            on_fail=ConcurrentUpdate(),
        )
        audit(
            uow,
            c,
            actor,
            f"withdrawal.{action}",
            "withdrawal",
            withdrawal_id,
            reason or reference,
            {"status": before},
            {"status": after, "member_id": item.member_id, "amount_fen": int(item.amount_fen)},
        )
        # the answer shows what was written: approving records neither a decision time nor a reason
        item.status = after
        if action != "approve":
            item.decided_at, item.reason, item.reference = now, reason or item.reason, reference or item.reference
        outcome = withdrawal_view(item)
        if key:
            remember(uow, c, f"withdrawal-review#{withdrawal_id}", key, print_, _jsonable(outcome))
        uow.commit()
        return outcome

    return once_per_key(f"withdrawal-review#{withdrawal_id}", key, print_, attempt)


@dataclass(frozen=True)
class RevealedPayout:
    """The payout account a withdrawal is paid to, in clear, for the finance officer paying it."""

    withdrawal_id: str
    member_id: str
    status: str
    kind: str
    account: str
    holder: str


def reveal_payout_account(c: Container, actor: Principal, withdrawal_id: str, reason: str) -> RevealedPayout:
    """The snapshot taken at the request, never the member's current account, once the
    audit entry (``withdrawal.payout_revealed``: who, when, which withdrawal, its status,
    why) has committed on the condition that the snapshot is still stored."""

    def attempt() -> RevealedPayout:
        item = WithdrawalItem.get_or_none(*WithdrawalItem.key(withdrawal_id))
        if item is None:
            raise WithdrawalNotFound()
        if item.payout_enc is None:
            raise PayoutAccountNotRecorded()
        record_reveal(
            c,
            actor,
            "withdrawal.payout_revealed",
            "withdrawal",
            withdrawal_id,
            reason,
            lambda uow: uow.check(
                WithdrawalItem, item.pk, item.sk, WithdrawalItem.payout_enc.exists(), PayoutAccountNotRecorded
            ),
            {"status": item.status, "member_id": item.member_id},
        )
        details = json.loads(c.cipher.decrypt(item.payout_enc, field=_SNAPSHOT_FIELD))
        return RevealedPayout(
            withdrawal_id, item.member_id, item.status, details["kind"], details["account"], details["holder"]
        )

    return retrying(attempt)


def _jsonable(view: dict[str, Any]) -> dict[str, Any]:
    return {k: (iso(v) if isinstance(v, datetime) else v) for k, v in view.items()}


def member_withdrawals(c: Container, member_id: str, limit: int, cursor: str | None) -> Page[dict[str, Any]]:
    return query_page(
        WithdrawalItem.by_member,
        f"WITHDRAWALS#{member_id}",
        cursors=c.cursors,
        limit=limit,
        cursor=cursor,
        newest_first=True,
        convert=withdrawal_view,
    )


def withdrawal_queue(c: Container, status: str, limit: int, cursor: str | None) -> Page[dict[str, Any]]:
    return query_page(
        WithdrawalItem.queue,
        f"WITHDRAWALQ#{status}",
        cursors=c.cursors,
        limit=limit,
        cursor=cursor,
        convert=withdrawal_view,
    )
