"""Pure settlement engine (RULES.md section 5): numpy and the standard library only.

Public API::

    SettlementInput.from_arrays(parent=..., stars=..., guide_tier=..., volumes_fen=...,
                                registration_order=None, member_ids=None)
    settle(inp, rules, kind="monthly"|"quarterly", period="2026-10",
           components=None, max_payout_ratio=None) -> SettlementResult
    run_json(input_document, rules=None) -> output_document
    input_to_json(inp, kind, period, components=None, max_payout_ratio=None) -> input_document
"""

from .engine import BP_PER_UNIT, KIND_COMPONENTS, MONTHLY, QUARTERLY, floor_mul_div, settle
from .errors import (
    DuplicateMemberError,
    InvalidComponentError,
    InvalidFieldError,
    InvalidKindError,
    InvalidPeriodError,
    InvalidRulesError,
    NegativeVolumeError,
    ReferralCycleError,
    SettlementError,
    SettlementInputError,
    UnknownReferrerError,
    UnknownVolumeMemberError,
    VolumeOverflowError,
)
from .io import SettlementRequest, input_from_json, input_to_json, report, result_to_json, run_json
from .model import ComponentAward, SettlementInput, SettlementResult

__all__ = [
    "BP_PER_UNIT",
    "KIND_COMPONENTS",
    "MONTHLY",
    "QUARTERLY",
    "ComponentAward",
    "DuplicateMemberError",
    "InvalidComponentError",
    "InvalidFieldError",
    "InvalidKindError",
    "InvalidPeriodError",
    "InvalidRulesError",
    "NegativeVolumeError",
    "ReferralCycleError",
    "SettlementError",
    "SettlementInput",
    "SettlementInputError",
    "SettlementRequest",
    "SettlementResult",
    "UnknownReferrerError",
    "UnknownVolumeMemberError",
    "VolumeOverflowError",
    "floor_mul_div",
    "input_from_json",
    "input_to_json",
    "report",
    "result_to_json",
    "run_json",
    "settle",
]
