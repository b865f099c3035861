"""Errors of the settlement engine: one root, flat and specific subclasses.

Every error raised for bad input derives from ``SettlementInputError`` so that callers
(the CLI, an admin endpoint) can map the whole family to "bad request" in one place.
"""

from __future__ import annotations


class SettlementError(Exception):
    """Root of every error the settlement engine raises on purpose."""


class SettlementInputError(SettlementError, ValueError):
    """The input cannot be settled; the message says why in one line."""


class InvalidFieldError(SettlementInputError):
    """A field is missing, has the wrong type or an out-of-range value."""


class InvalidKindError(SettlementInputError):
    """The settlement kind is neither ``monthly`` nor ``quarterly``."""


class InvalidPeriodError(SettlementInputError):
    """The period does not match the kind (``YYYY-MM`` monthly, ``YYYY-Qn`` quarterly)."""


class InvalidComponentError(SettlementInputError):
    """A requested component is unknown or belongs to the other kind of settlement."""


class DuplicateMemberError(SettlementInputError):
    """Two members share one id."""


class UnknownReferrerError(SettlementInputError):
    """A member's referrer is not a member of the input."""


class UnknownVolumeMemberError(SettlementInputError):
    """``volumes_fen`` names a member that is not in the input."""


class NegativeVolumeError(SettlementInputError):
    """A consumption volume is negative."""


class ReferralCycleError(SettlementInputError):
    """The referrer links form a cycle, so they are not a forest."""

    def __init__(self, message: str, members: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.members = members


class VolumeOverflowError(SettlementInputError):
    """The volumes are too large to be summed exactly in 64-bit integers."""


class InvalidRulesError(SettlementError):
    """The ``SettlementRules`` configuration cannot be applied (a configuration bug)."""
