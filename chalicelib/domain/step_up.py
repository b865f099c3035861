"""Step-up proof: a signed-in member proves the phone again before a change that decides
where money goes (the payout account) or sends it out (a withdrawal).

A proof belongs to one session (one refresh-token family, one device): proving the
number with a code, a login or a registration starts it; a token refresh does not.
It lasts ``SessionRules.step_up_ttl_s`` on the wall clock (security time, like the codes
themselves). Changing the payout account spends it, so redirecting money (a new account,
then a withdrawal to it) always takes two proofs of the phone, while withdrawals to the
account already on file share one proof for its few minutes.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from .errors import StepUpRequired
from .rules import SessionRules


def valid_until(proven_at: datetime, rules: SessionRules) -> datetime:
    return proven_at + timedelta(seconds=rules.step_up_ttl_s)


def oldest_fresh(now: datetime, rules: SessionRules) -> datetime:
    """A proof made after this instant still stands at ``now``. No upper bound: a proof
    stamped a little after ``now`` comes from another machine's clock, not the future."""
    return now - timedelta(seconds=rules.step_up_ttl_s)


def require_fresh(proven_at: datetime | None, now: datetime, rules: SessionRules) -> None:
    """Refuse unless the session proved the phone within the validity (and has not spent it)."""
    if proven_at is None or proven_at <= oldest_fresh(now, rules):
        raise StepUpRequired()
