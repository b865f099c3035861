"""The rules configuration: every business number of RULES.md in one versioned place.

Nothing else in the code base hard-codes a rate, a limit or a threshold; it takes a
``Rules`` (or the part it needs) as an argument. The defaults are the RULES.md
defaults. Rates are basis points (``_bp``, 1 % = 100 bp), money is integer fen
(``_fen``), points are integers, durations carry their unit in the name.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction

RULES_VERSION = "2026-11-23.1"


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
    version: str = RULES_VERSION
    otp: OtpRules = field(default_factory=OtpRules)
    sms_budget: SmsBudgetRules = field(default_factory=SmsBudgetRules)
    sessions: SessionRules = field(default_factory=SessionRules)
    referral: ReferralRules = field(default_factory=ReferralRules)
    earning: EarningRules = field(default_factory=EarningRules)
    points: PointsRules = field(default_factory=PointsRules)
    wallet: WalletRules = field(default_factory=WalletRules)
    settlement: SettlementRules = field(default_factory=SettlementRules)
    approvals: ApprovalRules = field(default_factory=ApprovalRules)


DEFAULT_RULES = Rules()
