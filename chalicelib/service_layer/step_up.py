"""Step-up proof on a member's session (``domain.step_up``): a code sent to the member's
own registered number, proving it, and the checks that the payout-account change and
the withdrawal put into their own transactions.

The codes are the one-time codes of ``otp`` with their own purpose, so they share its
limits (60 s between codes of a number, 10 a day, 30 an IP an hour, the SMS budget),
its hashing and its five tries.
"""

from __future__ import annotations

from datetime import datetime

from pynamodb.expressions.condition import Condition

from ..adapters.dynamodb.identity import SessionItem
from ..adapters.dynamodb.uow import UnitOfWork
from ..bootstrap import Container
from ..domain import step_up
from ..domain.errors import InvalidToken, StepUpRequired
from ..domain.identity import OtpPurpose
from . import otp
from .members import require_member


def send_code(c: Container, member_id: str, client_ip: str) -> otp.CodeSent:
    """A step-up code to the member's own number: no number in the request, so a session
    cannot have codes sent anywhere else."""
    member = require_member(member_id)
    assert member.phone_enc is not None  # a live member always has a number
    phone = c.cipher.decrypt(member.phone_enc, field="phone")
    return otp.send_code(c, phone, OtpPurpose.STEP_UP, client_ip)


def prove(c: Container, member_id: str, session_id: str, code: str) -> datetime:
    """Spend a try of the step-up code; on a match, stamp this session (and no other) as
    proven now. Returns until when the proof stands."""
    member = require_member(member_id)
    assert member.phone_index is not None
    code_item = otp.spend_try(c, member.phone_index, OtpPurpose.STEP_UP, code)
    now = c.wall_clock.now()
    uow = c.uow()
    otp.consume(uow, code_item)
    uow.update(
        SessionItem(*SessionItem.key(session_id)),
        [SessionItem.stepped_up_at.set(now)],
        condition=_live_session_of(member_id),
        on_fail=InvalidToken(),
    )
    uow.commit()
    return step_up.valid_until(now, c.rules.sessions)


def _live_session_of(member_id: str) -> Condition:
    return (SessionItem.member_id == member_id) & (SessionItem.revoked == False)  # noqa: E712


def _fresh(c: Container, member_id: str, session_id: str) -> tuple[tuple[str, str], Condition]:
    """Refuse now if the session holds no fresh proof; the condition that repeats the check
    in the transaction (a proof spent or expired since stops the change there)."""
    now = c.wall_clock.now()
    key = SessionItem.key(session_id)
    family = SessionItem.get_or_none(*key)
    proven_at = family.stepped_up_at if family is not None and family.member_id == member_id else None
    step_up.require_fresh(proven_at, now, c.rules.sessions)
    oldest = step_up.oldest_fresh(now, c.rules.sessions)
    return key, _live_session_of(member_id) & (SessionItem.stepped_up_at > oldest)


def require_proof(uow: UnitOfWork, c: Container, member_id: str, session_id: str) -> None:
    """This change needs a fresh proof on the caller's session, and leaves it standing."""
    key, fresh = _fresh(c, member_id, session_id)
    uow.check(SessionItem, *key, fresh, on_fail=StepUpRequired())


def spend_proof(uow: UnitOfWork, c: Container, member_id: str, session_id: str) -> None:
    """This change needs a fresh proof on the caller's session and spends it."""
    key, fresh = _fresh(c, member_id, session_id)
    uow.update(SessionItem(*key), [SessionItem.stepped_up_at.remove()], condition=fresh, on_fail=StepUpRequired())
