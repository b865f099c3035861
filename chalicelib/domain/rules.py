"""The rules configuration: every business number of RULES.md, as a registry of named,
immutable versions.

Nothing else in the code base hard-codes a rate, a limit or a threshold; it takes a
``Rules`` (or the part it needs) as an argument. The section defaults are the RULES.md
defaults. Rates are basis points (``_bp``, 1 % = 100 bp), money is integer fen
(``_fen``), points are integers, durations carry their unit in the name.

``REGISTRY`` (at the end) lists every version ever released, each with the instant it
takes effect. What is computed under a version stores its name (a settlement's
``rules_version``), so that it can be recomputed with the very same numbers later; a
version is therefore never edited or removed once released: a change of a number is a
new version (``Rules.revised``) appended to ``REGISTRY``.
"""

from __future__ import annotations

import bisect
import itertools
from dataclasses import dataclass, field, replace
from datetime import datetime
from fractions import Fraction
from typing import Any

from .calendar import FIRST_INSTANT


class UnknownRulesVersion(LookupError):
    """A stored ``rules_version`` names no version of the registry (a released version
    was removed or renamed). Never answered with the current rules instead: that would
    silently price an old period with other numbers."""


class InvalidRegistry(ValueError):
    """The versions of a registry do not form one timeline (see ``RulesRegistry``)."""


@dataclass(frozen=True)
class OtpRules:
    digits: int = 6
    ttl_s: int = 300
    max_attempts: int = 5
    resend_after_s: int = 60
    max_per_phone_per_day: int = 10
    max_per_ip_per_hour: int = 30


@dataclass(frozen=True)
class SmsBudgetRules:
    """How many code requests a day (Asia/Shanghai) may send SMS at all: SMS pumping
    (bots asking codes for premium-rate numbers) is paid by the programme. Every code
    request counts, whether or not the number is a member's, so that the budget does not
    tell which numbers are registered."""

    # Decision: placeholder defaults for finance and ops to set.
    per_day: int = 20_000
    # ISO region of the number -> requests a day; mainland China gets the large budget
    per_country_per_day: tuple[tuple[str, int], ...] = (("CN", 20_000),)
    other_country_per_day: int = 100

    def for_country(self, region: str) -> int:
        return dict(self.per_country_per_day).get(region, self.other_country_per_day)


@dataclass(frozen=True)
class SessionRules:
    access_ttl_s: int = 15 * 60
    refresh_ttl_s: int = 30 * 24 * 3600
    staff_access_ttl_s: int = 15 * 60
    # Decision (issue 11): a step-up proof (a fresh SMS code, or the sign-in itself) lets
    # this session change the payout account or withdraw for this long.
    step_up_ttl_s: int = 5 * 60


@dataclass(frozen=True)
class ReferralRules:
    # Decision (RULES.md 2): a late binding only within this many days of
    # registration and before the member's first paid order.
    late_binding_days: int = 30
    # Decision: a referrer may register at most this many friends on their behalf a day.
    max_on_behalf_per_day: int = 20


@dataclass(frozen=True)
class EarningRules:
    register: int = 50
    profile_complete: int = 100
    daily_login: int = 10
    purchase_points_per_yuan: int = 1
    birthday_month_multiplier: int = 2
    challenge_win: int = 12
    challenge_wins_per_day: int = 3
    event_check_in: int = 200
    survey: int = 50
    content: int = 2
    content_points_per_day: int = 20
    referral_sign_up: int = 50
    referral_first_purchase_points_per_yuan: int = 2
    nutritionist_certified: int = 450
    nutritionist_contribution: int = 500

    def __post_init__(self) -> None:
        if not 3 <= self.challenge_wins_per_day <= 5:
            raise ValueError("challenge_wins_per_day must be within 3..5 (RULES.md 3.1)")


@dataclass(frozen=True)
class PointsRules:
    return_window_days: int = 7
    validity_months: int = 12
    max_live_lots: int = 13
    # lifetime points needed for stars 0..5 (placeholder defaults, RULES.md 3.3)
    star_thresholds: tuple[int, ...] = (0, 2_000, 10_000, 30_000, 80_000, 200_000)


@dataclass(frozen=True)
class WalletRules:
    points_per_exchange_unit: int = 100  # 100 points ...
    fen_per_exchange_unit: int = 100  # ... = 1 aibi = 100 fen
    withdrawal_fee_bp: int = 1_000  # 10 %: fee = ceil(A * 1000 / 10000)
    min_withdrawal_fen: int = 10_000
    # Decision: a member may request at most this much a calendar day (Asia/Shanghai).
    daily_withdrawal_limit_fen: int = 5_000_000
    mall_hold_ttl_s: int = 30 * 60
    shop_payment_hold_ttl_s: int = 30 * 60


@dataclass(frozen=True)
class ApprovalRules:
    """Separation of duties (README "Separation of duties"): what one staff member may
    change alone. The thresholds are on the absolute amount (debits count too) and on
    the sum of what the same person changed alone that day (Asia/Shanghai); above them
    the change waits for a second staff member's approval."""

    # Decision: placeholder defaults for finance to set (10,000 points = 100 yuan of exchange value).
    points_threshold: int = 10_000
    aibi_threshold_fen: int = 100_000
    ttl_s: int = 72 * 3600


ALL_MONTHLY_COMPONENTS = ("small_group", "guide_fee")
ALL_QUARTERLY_COMPONENTS = ("q1", "q10")


@dataclass(frozen=True)
class SettlementRules:
    min_stars: int = 1
    small_group_rate_bp: int = 500
    q1_pool_bp: int = 300
    q1_threshold_fen: int = 1_000_000
    q10_pool_bp: int = 200
    q10_threshold_fen: int = 10_000_000
    weight_unit_fen: int = 1_000_000
    # guide tiers 0..5
    guide_rates_bp: tuple[int, ...] = (0, 200, 400, 600, 800, 1_000)
    store_duty_threshold_fen: int = 10_000_000
    components: frozenset[str] = field(
        default_factory=lambda: frozenset(ALL_MONTHLY_COMPONENTS + ALL_QUARTERLY_COMPONENTS)
    )
    max_payout_ratio: Fraction | None = None
    monthly_release_day: int = 10
    quarterly_release_days_after_end: int = 10
    auto_approve: bool = False
    # guide evaluation (RULES.md 5.4)
    evaluation_window_months: int = 4
    tier2_group_volume_fen: int = 1_000_000
    tier2_guided_members: int = 5


@dataclass(frozen=True)
class Rules:
    """One version of the whole configuration: its name, from when it applies, its numbers.

    A bare ``Rules()`` holds the RULES.md defaults under the name ``"defaults"`` (for tests);
    released versions are named in ``REGISTRY``."""

    version: str = "defaults"
    # the instant this version takes effect (business time); it stays in effect until the next one's
    effective_from: datetime = FIRST_INSTANT
    otp: OtpRules = field(default_factory=OtpRules)
    sms_budget: SmsBudgetRules = field(default_factory=SmsBudgetRules)
    sessions: SessionRules = field(default_factory=SessionRules)
    referral: ReferralRules = field(default_factory=ReferralRules)
    earning: EarningRules = field(default_factory=EarningRules)
    points: PointsRules = field(default_factory=PointsRules)
    wallet: WalletRules = field(default_factory=WalletRules)
    settlement: SettlementRules = field(default_factory=SettlementRules)
    approvals: ApprovalRules = field(default_factory=ApprovalRules)

    def revised(self, version: str, effective_from: datetime, **sections: dict[str, Any]) -> Rules:
        """The next version: these numbers changed, every other one as in this version, e.g.
        ``revised("2027-01-01.1", start_of_local_day(date(2027, 1, 1)), settlement={"small_group_rate_bp": 400})``."""
        changed = {name: replace(getattr(self, name), **numbers) for name, numbers in sections.items()}
        return replace(self, version=version, effective_from=effective_from, **changed)


@dataclass(frozen=True)
class RulesRegistry:
    """Named versions on one timeline: the first one applies from the calendar's start
    (``FIRST_INSTANT``), each later one from its ``effective_from`` until the next one's."""

    versions: tuple[Rules, ...]

    def __post_init__(self) -> None:
        if not self.versions:
            raise InvalidRegistry("a registry needs at least one version")
        names = [rules.version for rules in self.versions]
        if len(set(names)) != len(names):
            raise InvalidRegistry(f"version names must be unique: {names}")
        starts = [rules.effective_from for rules in self.versions]
        if any(start.tzinfo is None for start in starts):
            raise InvalidRegistry("effective_from must be an aware instant")
        if starts[0] != FIRST_INSTANT:
            raise InvalidRegistry(f"the first version must apply from {FIRST_INSTANT.isoformat()}")
        if any(later <= earlier for earlier, later in itertools.pairwise(starts)):
            raise InvalidRegistry("versions must be listed in strictly increasing effective_from")

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(rules.version for rules in self.versions)

    def at(self, instant: datetime) -> Rules:
        """The version in effect at ``instant``."""
        if instant < FIRST_INSTANT:
            raise ValueError(f"{instant.isoformat()} is before the programme's calendar")
        starts = [rules.effective_from for rules in self.versions]
        return self.versions[bisect.bisect_right(starts, instant) - 1]

    def named(self, version: str | None) -> Rules:
        """The version a stored ``rules_version`` names; an unknown (or missing) name is an error."""
        for rules in self.versions:
            if rules.version == version:
                return rules
        raise UnknownRulesVersion(f"rules version {version!r} is not in the registry (known: {', '.join(self.names)})")


# Every version ever released, oldest first. Append a new version to change a number;
# never edit or remove one (settlements and orders computed under it name it). The first
# one is the section defaults above, so those defaults never change either
# (tests/unit/test_rules_versions.py holds them to RULES.md).
V2026_11_23 = Rules(version="2026-11-23.1")
REGISTRY = RulesRegistry((V2026_11_23,))
