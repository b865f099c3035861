"""A member's own account: the ``/v1/me`` view, profile, referral tree, closing.

Personal data is decrypted only to build the member's own view, and is shown masked.
"""

from __future__ import annotations

import contextlib
import json
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from pynamodb.exceptions import UpdateError
from ulid import ULID

from ..adapters.dynamodb.base import iso
from ..adapters.dynamodb.consent import Consents
from ..adapters.dynamodb.identity import IdNumberItem, MemberCodeItem, MemberItem, PhoneItem, ReviewItem
from ..adapters.dynamodb.pagination import Page, query_page
from ..adapters.dynamodb.points import PointsBalanceItem
from ..adapters.dynamodb.settlement import unreleased_reward_fen
from ..adapters.dynamodb.wallet import PayoutAccountItem, WalletItem, WithdrawalItem
from ..bootstrap import Container
from ..domain import consent as consent_rules
from ..domain import identity
from ..domain import points as points_domain
from ..domain import wallet as wallet_domain
from ..domain.calendar import Month, local_date, seconds_until_next_local_day
from ..domain.consent import Purpose, require_granted
from ..domain.errors import (
    AccountFrozen,
    AccountNotClosable,
    BindingClosed,
    ConcurrentUpdate,
    Forbidden,
    NotFound,
    PhoneAlreadyRegistered,
    ReferralCycle,
    ReferrerAlreadyBound,
    SelfReferral,
)
from ..domain.events import ProfileCompleted, ReferralEffective
from ..domain.identity import MemberStatus, Profile
from . import legal, otp
from .common import retrying
from .points_ledger import load_state
from .sessions import (
    check_referrer_live,
    children_keys,
    load_member,
    member_pk,
    new_member_item,
    resolve_referrer,
)

MAX_TREE_WALK = 1_000_000


@dataclass(frozen=True)
class PointsView:
    available: int
    pending: int
    held: int
    lifetime: int
    debt: int
    expiring: list[tuple[date, int]]
    aibi_value_fen: int  # what the available points bring if exchanged now
    next_star: points_domain.NextStar | None


@dataclass(frozen=True)
class MemberView:
    member_id: str
    member_code: str | None
    share_link: str | None
    phone: str
    status: str
    stars: int
    roles: list[str]
    referrer_code: str | None
    points: PointsView
    balance_fen: int
    held_fen: int
    consent: legal.ConsentSummary
    profile: dict[str, object] = field(default_factory=dict)


def require_member(member_id: str) -> MemberItem:
    member = load_member(member_id)
    if member is None or member.status == MemberStatus.CLOSED:
        raise NotFound("No such member.")
    return member


def require_live(member: MemberItem) -> None:
    if member.status != MemberStatus.ACTIVE:
        raise Forbidden("This account is not active.")


def decrypt_profile(c: Container, member: MemberItem) -> Profile:
    def dec(value: str | None, name: str) -> str | None:
        return c.cipher.decrypt(value, field=name) if value else None

    birthday = dec(member.birthday_enc, "birthday")
    babies = json.loads(dec(member.babies_enc, "babies") or "[]")
    return Profile(
        name=dec(member.name_enc, "name"),
        birthday=date.fromisoformat(birthday) if birthday else None,
        region=member.region,
        babies=tuple(date.fromisoformat(day) for day in babies),
    )


def view(c: Container, member_id: str) -> MemberView:
    member = require_member(member_id)
    balance = PointsBalanceItem.get_or_none(member_pk(member_id), PointsBalanceItem.SK)
    wallet = WalletItem.get_or_none(member_pk(member_id), WalletItem.SK)
    state = load_state(balance)
    now = c.now()
    current = Month.of(local_date(now))
    # lots whose month has ended are expired even before the daily job sweeps them
    live, _ = points_domain.expire(state, current)
    referrer = load_member(member.referrer_id) if member.referrer_id and member.status != "pending" else None
    profile = decrypt_profile(c, member)
    phone = c.cipher.decrypt(member.phone_enc, field="phone") if member.phone_enc else None
    return MemberView(
        member_id=member.member_id,
        member_code=member.member_code,
        share_link=identity.share_link(c.settings.public_base_url, member.member_code) if member.member_code else None,
        phone=identity.mask_phone(phone) if phone else "",
        status=member.status,
        stars=points_domain.stars_for(state.lifetime, c.rules.points.star_thresholds),
        roles=sorted(member.roles or ()),
        referrer_code=referrer.member_code if referrer and referrer.status != MemberStatus.CLOSED else None,
        points=PointsView(
            available=live.available,
            pending=live.pending,
            held=live.held,
            lifetime=live.lifetime,
            debt=live.debt,
            expiring=points_domain.expiring_schedule(live, current),
            aibi_value_fen=wallet_domain.exchange_worth_fen(live.available, c.rules.wallet),
            next_star=points_domain.next_star(live.lifetime, c.rules.points.star_thresholds),
        ),
        balance_fen=int(wallet.balance_fen) if wallet else 0,
        held_fen=int(wallet.held_fen) if wallet else 0,
        consent=legal.summary(c, member),
        profile={
            "name": identity.mask_name(profile.name) if profile.name else None,
            "birthday": profile.birthday,
            "region": profile.region,
            "babies": list(profile.babies),
            "complete": profile.complete,
        },
    )


# --- profile ------------------------------------------------------------------------------------
def update_profile(
    c: Container,
    member_id: str,
    *,
    name: str | None = None,
    birthday: date | None = None,
    region: str | None = None,
    babies: list[date] | None = None,
) -> MemberView:
    def attempt() -> None:
        member = require_member(member_id)
        require_live_or_frozen(member)
        if babies:
            # minors' data needs its own consent (PIPL art. 28, 31); the versioned update
            # below loses to a withdrawal committed meanwhile, and the retry refuses
            require_granted(Consents.state_of(member).granted, Purpose.BABIES)
        now = c.now()
        before = decrypt_profile(c, member)
        after = identity.apply_profile_changes(
            before, local_date(now), name=name, birthday=birthday, region=region, babies=babies
        )
        actions = []
        if after.name != before.name:
            actions.append(
                MemberItem.name_enc.set(c.cipher.encrypt(after.name, field="name"))
                if after.name
                else MemberItem.name_enc.remove()
            )
        if after.birthday != before.birthday and after.birthday:
            actions.append(MemberItem.birthday_enc.set(c.cipher.encrypt(after.birthday.isoformat(), field="birthday")))
        if after.region != before.region:
            actions.append(MemberItem.region.set(after.region) if after.region else MemberItem.region.remove())
        if after.babies != before.babies:
            encoded = json.dumps([day.isoformat() for day in after.babies])
            actions.append(MemberItem.babies_enc.set(c.cipher.encrypt(encoded, field="babies")))
        if after.birth_months != before.birth_months:
            actions.append(
                MemberItem.birth_months.set(sorted(after.birth_months))
                if after.birth_months
                else MemberItem.birth_months.remove()
            )
        uow = c.uow()
        if identity.profile_became_complete(before, after, member.profile_completed_at is not None):
            actions.append(MemberItem.profile_completed_at.set(now))
            uow.emit(ProfileCompleted(member_id, now, can_earn=member.status == MemberStatus.ACTIVE))
        if not actions:
            return
        uow.update(member, actions, versioned=True)
        uow.commit()

    retrying(attempt)
    return view(c, member_id)


def require_live_or_frozen(member: MemberItem) -> None:
    if member.status not in (MemberStatus.ACTIVE, MemberStatus.FROZEN):
        raise Forbidden("This account is not active.")


# --- referral tree -------------------------------------------------------------------------------
def ancestors(member_id: str, limit: int = MAX_TREE_WALK) -> list[MemberItem]:
    """The referrer chain from ``member_id``'s referrer up to the root (one read a level)."""
    chain: list[MemberItem] = []
    current = load_member(member_id)
    seen = {member_id}
    while current is not None and current.referrer_id and len(chain) < limit:
        if current.referrer_id in seen:
            raise RuntimeError("the stored referral tree has a cycle")
        seen.add(current.referrer_id)
        current = load_member(current.referrer_id)
        if current is not None:
            chain.append(current)
    return chain


def bind_referrer(c: Container, member_id: str, code: str) -> MemberView:
    """Late binding ("后补") by member code (RULES.md 2 and its Decision)."""

    def attempt() -> None:
        member = require_member(member_id)
        require_live_or_frozen(member)
        if member.referrer_id:
            raise ReferrerAlreadyBound()
        referrer = resolve_referrer(code)
        if referrer.member_id == member.member_id:
            raise SelfReferral()
        now = c.now()
        if not identity.late_binding_open(
            member.activated_at or member.registered_at,
            member.first_paid_at,
            now,
            c.rules.referral.late_binding_days,
        ):
            raise BindingClosed()
        chain = [referrer, *ancestors(referrer.member_id)]
        if any(node.member_id == member.member_id for node in chain):
            raise ReferralCycle()
        root = chain[-1]
        uow = c.uow()
        gsi1pk, gsi1sk = children_keys(referrer.member_id, member)
        uow.update(
            member,
            [
                MemberItem.referrer_id.set(referrer.member_id),
                MemberItem.referrer_bound_at.set(now),
                MemberItem.bound_via.set("late"),
                MemberItem.gsi1pk.set(gsi1pk),
                MemberItem.gsi1sk.set(gsi1sk),
            ],
            condition=MemberItem.referrer_id.does_not_exist() & MemberItem.first_paid_at.does_not_exist(),
            versioned=True,
        )
        # The only link of the chain that can still change is its root (every other node
        # is bound once): if the root got bound meanwhile, re-check for a cycle.
        uow.check(
            MemberItem,
            root.pk,
            MemberItem.SK,
            MemberItem.referrer_id.does_not_exist() & MemberItem.status.is_in("active", "frozen"),
        )
        if root.member_id != referrer.member_id:
            check_referrer_live(uow, referrer)
        if member.status == MemberStatus.ACTIVE or member.status == MemberStatus.FROZEN:
            uow.emit(ReferralEffective(referrer.member_id, member.member_id, now))
        uow.commit()

    retrying(attempt)
    return view(c, member_id)


@dataclass(frozen=True)
class ReferralView:
    member_id: str
    phone: str
    status: str
    registered_at: datetime
    bound_via: str | None


@dataclass(frozen=True)
class InvitationView:
    phone: str
    invited_at: datetime


def register_friend(c: Container, referrer_id: str, phone_raw: str, client_ip: str) -> InvitationView:
    """A referrer registers a friend, who stays pending until they prove the number.

    The answer says nothing about the number until its owner proves it: every invitation
    counts toward the referrer's daily limit first, and a number that already has an
    account (active, frozen, pending under another inviter) gets the same answer as a new
    one, with nothing created. The inviter learns the outcome only when the friend proves
    the number and appears among their referrals (``list_referrals`` hides pending ones).
    """
    referrer = require_member(referrer_id)
    require_live(referrer)
    phone = identity.normalize_phone(phone_raw)
    index = otp.phone_index(c, phone)
    now = c.now()
    uow = c.uow()
    otp.count_in_window(
        uow,
        f"on-behalf#{referrer_id}#{local_date(now).isoformat()}",
        c.rules.referral.max_on_behalf_per_day,
        seconds_until_next_local_day(now),
        now + timedelta(days=2),
    )
    uow.commit()
    if PhoneItem.get_or_none(f"PHONE#{index}", PhoneItem.SK) is None:
        member = new_member_item(c, str(ULID()), phone, index, now, MemberStatus.PENDING, referrer, "on_behalf")
        uow = c.uow()
        uow.put(
            PhoneItem(pk=f"PHONE#{index}", sk=PhoneItem.SK, member_id=member.member_id),
            condition=PhoneItem.pk.does_not_exist(),
            on_fail=PhoneAlreadyRegistered(),
        )
        uow.put(member)
        check_referrer_live(uow, referrer)
        # registered in between: the same answer as for any registered number
        with contextlib.suppress(PhoneAlreadyRegistered):
            uow.commit()
    return InvitationView(identity.mask_phone(phone), now)


def list_referrals(c: Container, member_id: str, limit: int, cursor: str | None) -> Page[ReferralView]:
    require_member(member_id)

    def convert(item: MemberItem) -> ReferralView:
        phone = c.cipher.decrypt(item.phone_enc, field="phone") if item.phone_enc else None
        return ReferralView(
            item.member_id,
            identity.mask_phone(phone) if phone else "",
            item.status,
            item.registered_at,
            item.bound_via,
        )

    # a friend registered on the member's behalf shows once they prove the number:
    # listing them before would tell the inviter which invited numbers had no account
    return query_page(
        MemberItem.children,
        f"REFERRER#{member_id}",
        cursors=c.cursors,
        limit=limit,
        cursor=cursor,
        filter_condition=MemberItem.status != MemberStatus.PENDING.value,
        convert=convert,
    )


# --- closing ------------------------------------------------------------------------------------------
def _erase_payout_snapshots(member_id: str) -> None:
    """The payout account each finished withdrawal was paid to is payout data: closing
    erases it and the masked holder (a surname); the amount, the masked account number
    and the transfer reference stay, like the ledgers.
    One withdrawal at a time, before the close commits, since the close's one transaction
    could not hold every request of a long membership. Only paid and rejected ones are
    touched; an open one (a race with the wallet check) refuses the close."""
    requests = WithdrawalItem.by_member.query(
        WithdrawalItem.of_member(member_id), filter_condition=WithdrawalItem.payout_enc.exists()
    )
    for item in requests:
        try:
            item.update(
                actions=[WithdrawalItem.payout_enc.remove(), WithdrawalItem.payout_holder_masked.remove()],
                condition=WithdrawalItem.status.is_in("paid", "rejected"),
            )
        except UpdateError as exc:
            if exc.cause_response_code != "ConditionalCheckFailedException":
                raise
            raise AccountNotClosable() from exc


def _closable(member: MemberItem) -> None:
    if member.status == MemberStatus.PENDING:
        raise Forbidden("This account is not active.")
    if member.status == MemberStatus.FROZEN:
        # a freeze is often an investigation: erasing the data now would end it
        raise AccountFrozen("A frozen account cannot be closed until ops unfreeze it.")


def close_preview(c: Container, member_id: str) -> consent_rules.ClosePreview:
    """What closing forfeits now: points (available, pending, held) and rewards not yet
    released; the member confirms with this preview's ``confirmation``."""
    member = require_member(member_id)
    _closable(member)
    live, _ = points_domain.expire(
        load_state(PointsBalanceItem.get_or_none(member.pk, PointsBalanceItem.SK)), Month.of(local_date(c.now()))
    )
    wallet = WalletItem.get_or_none(member.pk, WalletItem.SK)
    return consent_rules.close_preview(
        member_id,
        points_available=live.available,
        points_pending=live.pending,
        points_held=live.held,
        unreleased_rewards_fen=unreleased_reward_fen(member_id),
        balance_fen=int(wallet.balance_fen) if wallet else 0,
        held_fen=int(wallet.held_fen) if wallet else 0,
    )


def close_account(c: Container, member_id: str, reason: str, confirmation: str) -> None:
    """Erase personal data, keep ledgers and the anonymous tree node (RULES.md 1), once
    the member confirmed the preview of what is lost (a preview gone stale refuses)."""

    def attempt() -> None:
        member = require_member(member_id)
        _closable(member)
        wallet = WalletItem.get_or_none(member.pk, WalletItem.SK)
        if wallet is not None and (wallet.balance_fen or wallet.held_fen or wallet.open_withdrawals):
            raise AccountNotClosable()
        balance = PointsBalanceItem.get_or_none(member.pk, PointsBalanceItem.SK)
        consent_rules.require_confirmation(close_preview(c, member_id).confirmation, confirmation)
        _erase_payout_snapshots(member_id)
        now = c.now()
        uow = c.uow()
        uow.check(
            WalletItem,
            member.pk,
            WalletItem.SK,
            WalletItem.pk.does_not_exist()
            | ((WalletItem.balance_fen == 0) & (WalletItem.held_fen == 0) & (WalletItem.open_withdrawals == 0)),
            on_fail=AccountNotClosable(),
        )
        # points that moved since the preview was checked: the retry checks it again
        uow.check(
            PointsBalanceItem,
            member.pk,
            PointsBalanceItem.SK,
            PointsBalanceItem.pk.does_not_exist()
            if balance is None
            else PointsBalanceItem.version == int(balance.version),
            on_fail=ConcurrentUpdate(),
        )
        erased = [
            MemberItem.phone_enc,
            MemberItem.phone_index,
            MemberItem.name_enc,
            MemberItem.birthday_enc,
            MemberItem.babies_enc,
            MemberItem.birth_months,
            MemberItem.region,
            MemberItem.member_code,
        ]
        uow.update(
            member,
            [attr.remove() for attr in erased]
            + [
                MemberItem.status.set(MemberStatus.CLOSED.value),
                MemberItem.closed_at.set(now),
                MemberItem.close_reason.set(reason),
                MemberItem.gsi3pk.set(f"CHURN#{Month.of(local_date(now))}"),
                MemberItem.gsi3sk.set(f"{iso(now)}#{member_id}"),
            ],
            versioned=True,
        )
        if member.phone_index:
            uow.delete(PhoneItem(pk=f"PHONE#{member.phone_index}", sk=PhoneItem.SK))
        if member.member_code:
            uow.delete(MemberCodeItem(pk=f"MCODE#{member.member_code}", sk=MemberCodeItem.SK))
        kyc = ReviewItem.get_or_none(member.pk, "KYC")
        if kyc is not None and kyc.id_index and kyc.status == "approved":
            uow.delete(IdNumberItem(pk=f"IDNUM#{kyc.id_index}", sk=IdNumberItem.SK))
        for review in ("KYC", "CERT"):
            uow.delete(ReviewItem(pk=member.pk, sk=review))
        uow.delete(PayoutAccountItem(pk=member.pk, sk=PayoutAccountItem.SK))
        uow.commit()

    retrying(attempt)
