"""Every assumption of the plan simulator in one frozen value, loaded from JSON with validation.

A plan file (``--config PLAN.json``) overrides any part of the defaults; whatever it does
not mention keeps its default, except ``population.models``, which replaces the whole
mix when given. The sections are::

    {"quarter": "2026-Q4",
     "population":  {"models": {...}, "organic_share": ..., "realistic": {...},
                     "preferential": {...}, "chain": {...}},
     "consumption": {...}, "members": {...}, "points_cost": {...},
     "rules": {"settlement": {...}, "earning": {...}, "points": {...}, "wallet": {...}}}

``rules`` holds the programme's own rules objects (``chalicelib.domain.rules``), limited
to the fields the simulation uses, so a simulated rate is the very number the engine
reads. Unknown keys and bad values raise ``ConfigError`` with the dotted path of the
offending setting; the command line turns it into a one-line message and exit status 2.
"""

from __future__ import annotations

import copy
import dataclasses
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

from chalicelib.domain.rules import EarningRules, PointsRules, SettlementRules, WalletRules
from chalicelib.domain.settlement import KIND_COMPONENTS, InvalidRulesError
from chalicelib.domain.settlement.engine import check_rules

from .populations import GUIDE_TIER_SHARES

MODELS = ("realistic", "preferential", "chain")
COMPONENTS = (*KIND_COMPONENTS["monthly"], *KIND_COMPONENTS["quarterly"])
MAX_MONTHLY_FEN = 10**9  # 10 million yuan: the largest cap on a member's month
MAX_MEMBERS = 10**8  # with MAX_MONTHLY_FEN, a quarter's total stays within int64

# The fields of the programme's rules objects a plan file may set (the others do not
# change what a simulated quarter costs).
RULE_FIELDS: dict[str, tuple[type, tuple[str, ...]]] = {
    "settlement": (
        SettlementRules,
        (
            "min_stars",
            "small_group_rate_bp",
            "q1_pool_bp",
            "q1_threshold_fen",
            "q10_pool_bp",
            "q10_threshold_fen",
            "weight_unit_fen",
            "guide_rates_bp",
            "store_duty_threshold_fen",
            "components",
            "max_payout_ratio",
        ),
    ),
    "earning": (
        EarningRules,
        (
            "register",
            "profile_complete",
            "purchase_points_per_yuan",
            "birthday_month_multiplier",
            "referral_sign_up",
            "referral_first_purchase_points_per_yuan",
            "nutritionist_certified",
            "nutritionist_contribution",
        ),
    ),
    "points": (PointsRules, ("star_thresholds",)),
    "wallet": (WalletRules, ("points_per_exchange_unit", "fen_per_exchange_unit")),
}


class ConfigError(ValueError):
    """A plan file or a command-line setting the simulator cannot use; the message says which and why."""


def _share(name: str, value: float) -> None:
    if not 0.0 <= value <= 1.0:
        raise ValueError(f"{name} must be within 0..1, not {value!r}")


def _positive(name: str, value: float) -> None:
    if not value > 0:
        raise ValueError(f"{name} must be positive, not {value!r}")


@dataclass(frozen=True)
class RealisticModel:
    """Most members refer nobody; the rest refer with Pareto-distributed activity."""

    referrer_share: float = 0.25
    activity_alpha: float = 1.2

    def __post_init__(self) -> None:
        _share("referrer_share", self.referrer_share)
        if not 0.1 <= self.activity_alpha <= 100:
            raise ValueError(f"activity_alpha must be within 0.1..100, not {self.activity_alpha!r}")


@dataclass(frozen=True)
class PreferentialModel:
    """Referrer chosen with probability proportional to referrals so far + attractiveness."""

    attractiveness: float = 1.0

    def __post_init__(self) -> None:
        _positive("attractiveness", self.attractiveness)


@dataclass(frozen=True)
class ChainModel:
    """Newcomers mostly recruited by one of the most recent members."""

    recent_share: float = 0.95
    recent_window: int = 20

    def __post_init__(self) -> None:
        _share("recent_share", self.recent_share)
        if self.recent_window < 1:
            raise ValueError(f"recent_window must be at least 1, not {self.recent_window}")


@dataclass(frozen=True)
class PopulationAssumptions:
    """How the referral tree grows. ``models``: the share of trials drawn from each growth model."""

    models: tuple[tuple[str, float], ...] = (("realistic", 0.5), ("preferential", 0.25), ("chain", 0.25))
    organic_share: float = 0.02
    realistic: RealisticModel = field(default_factory=RealisticModel)
    preferential: PreferentialModel = field(default_factory=PreferentialModel)
    chain: ChainModel = field(default_factory=ChainModel)

    def __post_init__(self) -> None:
        _share("organic_share", self.organic_share)
        if not sum(weight for _, weight in self.models) > 0:
            raise ValueError("models must give at least one growth model a positive weight")


@dataclass(frozen=True)
class ConsumptionAssumptions:
    """Monthly consumption: a share of non-buyers, log-normal spending levels, month-to-month noise."""

    non_buyer_share: float = 0.4
    median_monthly_fen: int = 30_000
    sigma: float = 1.2
    purchase_probability: float = 0.75
    month_sigma: float = 0.4
    max_monthly_fen: int = 5_000_000

    def __post_init__(self) -> None:
        _share("non_buyer_share", self.non_buyer_share)
        _share("purchase_probability", self.purchase_probability)
        _positive("median_monthly_fen", self.median_monthly_fen)
        _positive("max_monthly_fen", self.max_monthly_fen)
        for name in ("sigma", "month_sigma"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must not be negative, not {getattr(self, name)!r}")


@dataclass(frozen=True)
class MemberAssumptions:
    """What stars and guide tiers are derived from."""

    tenure_months: float = 12.0
    birthday_month_share: float = 0.15
    guide_tier_shares: tuple[float, ...] = GUIDE_TIER_SHARES

    def __post_init__(self) -> None:
        if self.tenure_months < 0:
            raise ValueError(f"tenure_months must not be negative, not {self.tenure_months!r}")
        _share("birthday_month_share", self.birthday_month_share)
        if not self.guide_tier_shares or min(self.guide_tier_shares) < 0 or not sum(self.guide_tier_shares) > 0:
            raise ValueError("guide_tier_shares must be non-negative shares of tiers 0, 1, ... with a positive sum")


@dataclass(frozen=True)
class PointsCostAssumptions:
    """What the points issued in the quarter cost."""

    breakage_rate: float = 0.3
    referral_first_purchase_share: float = 0.05

    def __post_init__(self) -> None:
        _share("breakage_rate", self.breakage_rate)
        _share("referral_first_purchase_share", self.referral_first_purchase_share)


@dataclass(frozen=True)
class RulesUnderTest:
    """The programme's rules objects, as the engine and the points code read them."""

    settlement: SettlementRules = field(default_factory=SettlementRules)
    earning: EarningRules = field(default_factory=EarningRules)
    points: PointsRules = field(default_factory=PointsRules)
    wallet: WalletRules = field(default_factory=WalletRules)

    def __post_init__(self) -> None:
        settlement = self.settlement
        try:
            check_rules(settlement)
        except InvalidRulesError as exc:
            raise ValueError(f"settlement.{exc}") from None
        thresholds = self.points.star_thresholds
        if not thresholds or thresholds[0] != 0 or list(thresholds) != sorted(thresholds):
            raise ValueError(f"points.star_thresholds must start at 0 and never decrease, not {list(thresholds)}")
        if self.wallet.points_per_exchange_unit <= 0:
            raise ValueError("wallet.points_per_exchange_unit must be positive")


@dataclass(frozen=True)
class SimulationConfig:
    """Every assumption of one simulation; the defaults are the README's documented run."""

    quarter: str = "2026-Q4"
    population: PopulationAssumptions = field(default_factory=PopulationAssumptions)
    consumption: ConsumptionAssumptions = field(default_factory=ConsumptionAssumptions)
    members: MemberAssumptions = field(default_factory=MemberAssumptions)
    points_cost: PointsCostAssumptions = field(default_factory=PointsCostAssumptions)
    rules: RulesUnderTest = field(default_factory=RulesUnderTest)

    def __post_init__(self) -> None:
        if not re.fullmatch(r"[0-9]{4}-Q[1-4]", self.quarter):
            raise ValueError(f"quarter looks like 2026-Q4, not {self.quarter!r}")
        tiers = len(self.members.guide_tier_shares)
        rates = len(self.rules.settlement.guide_rates_bp)
        if tiers > rates:
            raise ValueError(
                f"members.guide_tier_shares has {tiers} tiers but rules.settlement.guide_rates_bp only {rates}"
            )

    @property
    def months(self) -> tuple[str, str, str]:
        """The quarter's three months, ``YYYY-MM``."""
        year, q = self.quarter.split("-Q")
        first = 3 * (int(q) - 1) + 1
        return tuple(f"{year}-{m:02d}" for m in range(first, first + 3))  # type: ignore[return-value]

    def model_weights(self) -> dict[str, float]:
        return dict(self.population.models)

    def population_key(self) -> tuple[Any, ...]:
        """Everything a generated population depends on (the rest only changes its settlement)."""
        return (self.population, self.consumption, self.members, self.rules.earning, self.rules.points)

    def engine_rules_are_default(self) -> bool:
        """True when ``python -m chalicelib.settlement`` (default rules) settles as this config does.

        Its input documents carry the components and the payout cap, nothing else.
        """
        default = SettlementRules()
        return (
            dataclasses.replace(self.rules.settlement, components=default.components, max_payout_ratio=None) == default
        )


# --- loading ---------------------------------------------------------------------------------


def _number(path: str, value: object, *, integer: bool) -> int | float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        kind = "an integer" if integer else "a number"
        raise ConfigError(f"{path} must be {kind}, not {value!r}")
    if integer and not isinstance(value, int):
        raise ConfigError(f"{path} must be an integer, not {value!r}")
    if isinstance(value, float) and not math.isfinite(value):
        raise ConfigError(f"{path} must be finite, not {value!r}")
    if integer:
        return value
    try:
        return float(value)
    except OverflowError:
        raise ConfigError(f"{path} is too large: {value!r}") from None


def payout_ratio_from_json(path: str, value: object) -> Fraction | None:
    """A payout cap as the settlement input contract reads it: the decimal written, exactly."""
    if value is None:
        return None
    number = _number(path, value, integer=False)
    if number < 0:
        raise ConfigError(f"{path} must not be negative, not {value!r}")
    return Fraction(str(value))


def _upper_limit(path: str, integer: bool) -> float:
    """The largest value a number setting accepts.

    Far beyond any real plan, and low enough that every product the simulator and the
    engine form stays inside int64 (a member's month is at most 10^9 fen, so a quarter of
    10^8 members sums to less than 2^63 fen) and inside float range.
    """
    name = path.rsplit(".", 1)[-1].split("[")[0]
    if name.endswith("_bp"):
        return 10_000  # 100 %
    if name == "max_monthly_fen":
        return MAX_MONTHLY_FEN
    if name.endswith("_fen"):
        return 10**12
    if name in ("sigma", "month_sigma"):
        return 5.0
    if name == "tenure_months":
        return 1_200.0
    return 10**9 if integer else 10**6


def _value(path: str, default: object, value: object) -> object:
    """``value`` checked and converted to the type of the setting's ``default``."""
    if dataclasses.is_dataclass(default):
        return _section(path, type(default), value)
    if path.endswith("max_payout_ratio"):
        return payout_ratio_from_json(path, value)
    if isinstance(default, str):
        if not isinstance(value, str):
            raise ConfigError(f"{path} must be a string, not {value!r}")
        return value
    if isinstance(default, int | float):
        integer = isinstance(default, int)
        number = _number(path, value, integer=integer)
        if integer and number < 0:
            raise ConfigError(f"{path} must not be negative, not {value!r}")
        limit = _upper_limit(path, integer)
        if number > limit:
            raise ConfigError(f"{path} must be at most {limit:,}, not {value!r}")
        return number
    if isinstance(default, frozenset):
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ConfigError(f"{path} must be a list of component names")
        unknown = sorted(set(value) - set(COMPONENTS))
        if unknown:
            raise ConfigError(f"{path} names unknown component {unknown[0]!r} (known: {', '.join(COMPONENTS)})")
        return frozenset(value)
    if isinstance(default, tuple):
        if not isinstance(value, list) or not value:
            raise ConfigError(f"{path} must be a non-empty list")
        return tuple(_value(f"{path}[{i}]", default[0], v) for i, v in enumerate(value))
    raise AssertionError(f"no loader for {path}")  # pragma: no cover - every default type is handled


def _models(path: str, value: object) -> tuple[tuple[str, float], ...]:
    if not isinstance(value, dict):
        raise ConfigError(f"{path} must be an object of growth model -> share of trials")
    unknown = sorted(set(value) - set(MODELS))
    if unknown:
        raise ConfigError(f"{path}.{unknown[0]} is not a growth model (known: {', '.join(MODELS)})")
    weights = {name: _number(f"{path}.{name}", value.get(name, 0), integer=False) for name in MODELS}
    for name, weight in weights.items():
        if weight < 0:
            raise ConfigError(f"{path}.{name} must not be negative, not {weight!r}")
    return tuple(weights.items())


def _settable(cls: type) -> tuple[str, ...]:
    for rules_class, names in RULE_FIELDS.values():
        if cls is rules_class:
            return names
    return tuple(f.name for f in dataclasses.fields(cls))


def _section(path: str, cls: type, raw: object) -> Any:
    if not isinstance(raw, dict):
        raise ConfigError(f"{path or 'the plan'} must be a JSON object")
    allowed = _settable(cls)
    unknown = sorted(set(raw) - set(allowed))
    if unknown:
        where = f"{path}.{unknown[0]}" if path else unknown[0]
        raise ConfigError(f"unknown setting {where} (known here: {', '.join(allowed)})")
    default = cls()
    values = {}
    for name in allowed:
        if name in raw:
            child = f"{path}.{name}" if path else name
            if cls is PopulationAssumptions and name == "models":
                values[name] = _models(child, raw[name])
            else:
                values[name] = _value(child, getattr(default, name), raw[name])
    try:
        return dataclasses.replace(default, **values)
    except ValueError as exc:
        raise ConfigError(f"{path}.{exc}" if path else str(exc)) from None


def load_config(raw: object) -> SimulationConfig:
    """The configuration a plan document (decoded JSON) describes, over the defaults."""
    return _section("", SimulationConfig, raw)


# --- settings by path (for --sweep) ----------------------------------------------------------


def _leaves(cls: type, prefix: str) -> list[tuple[str, object]]:
    default = cls()
    leaves = []
    for name in _settable(cls):
        value = getattr(default, name)
        path = f"{prefix}.{name}" if prefix else name
        if dataclasses.is_dataclass(value):
            leaves += _leaves(type(value), path)
        else:
            leaves.append((path, value))
    return leaves


def number_settings() -> dict[str, object]:
    """Every single-number setting by dotted path, with its default (what a sweep can vary)."""
    return {
        path: value
        for path, value in _leaves(SimulationConfig, "")
        if path.endswith("max_payout_ratio") or (isinstance(value, int | float) and not isinstance(value, bool))
    }


def resolve_setting(name: str) -> str:
    """The dotted path of a single-number setting named by its path or a unique ending of it.

    ``small_group_rate_bp``, ``settlement.small_group_rate_bp`` and
    ``rules.settlement.small_group_rate_bp`` all name the same setting.
    """
    settings = number_settings()
    if name in settings:
        return name
    matches = [path for path in settings if path.endswith(f".{name}")]
    if len(matches) == 1:
        return matches[0]
    if matches:
        raise ConfigError(f"setting {name!r} is ambiguous: say {' or '.join(matches)}")
    raise ConfigError(
        f"{name!r} is not a single-number setting; for example "
        "rules.settlement.small_group_rate_bp, q1_threshold_fen, max_payout_ratio, "
        "consumption.non_buyer_share"
    )


def with_setting(raw: Mapping[str, Any], path: str, value: object) -> dict[str, Any]:
    """A copy of the plan document with the setting at ``path`` replaced by ``value``."""
    document = copy.deepcopy(dict(raw))
    node = document
    parts = path.split(".")
    for part in parts[:-1]:
        child = node.get(part)
        if not isinstance(child, dict):
            child = {}
            node[part] = child
        node = child
    node[parts[-1]] = value
    return document


# --- writing ---------------------------------------------------------------------------------


def config_to_json(config: object) -> Any:
    """The configuration as plain JSON values (the report echoes every assumption it used)."""
    if dataclasses.is_dataclass(config) and not isinstance(config, type):
        out = {}
        for name in _settable(type(config)):
            value = getattr(config, name)
            if isinstance(config, PopulationAssumptions) and name == "models":
                out[name] = dict(value)
            else:
                out[name] = config_to_json(value)
        return out
    if isinstance(config, Fraction):
        return float(config)
    if isinstance(config, frozenset):
        return [c for c in COMPONENTS if c in config]
    if isinstance(config, tuple):
        return [config_to_json(v) for v in config]
    return config
