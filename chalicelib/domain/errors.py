"""The domain's exceptions: one root, one class per area, flat precise subclasses.

Each class carries the contract's snake_case ``code``; ``entrypoints.errors`` is the one
place that maps a class to an HTTP status. Messages are for people and never contain
personal data.
"""

from __future__ import annotations


class DomainError(Exception):
    """Root of every error the domain and the service layer raise on purpose."""

    code = "domain_error"
    default_message = "The request cannot be completed."

    def __init__(self, message: str | None = None, **details: object) -> None:
        super().__init__(message or self.default_message)
        self.message = message or self.default_message
        self.details = details


# --- request shape and rule violations -------------------------------------------------
class InvalidRequest(DomainError):
    """The request is malformed (wrong types, unknown fields, bad cursor)."""

    code = "invalid_request"
    default_message = "The request is malformed."


class RuleViolation(DomainError):
    """Well-formed input that breaks a business rule."""

    code = "rule_violation"


class InvalidPhone(RuleViolation):
    """The phone number is not a valid number for its region."""

    code = "invalid_phone"
    default_message = "This is not a valid mobile number."


class InvalidIdNumber(RuleViolation):
    """The resident ID number fails its checksum or format."""

    code = "invalid_id_number"
    default_message = "This is not a valid resident ID number."


class UnknownReferrer(RuleViolation):
    """No active member has this code (or it fails its Luhn check digit)."""

    code = "unknown_referrer"
    default_message = "No member has this code."


class SelfReferral(RuleViolation):
    """A member cannot be their own referrer."""

    code = "self_referral"
    default_message = "You cannot be your own referrer."


class ReferralCycle(RuleViolation):
    """The referrer is a descendant of the member; binding would make a cycle."""

    code = "cycle"
    default_message = "This member is in your own referral tree."


class BindingClosed(RuleViolation):
    """A late binding is allowed only within the window and before the first paid order."""

    code = "binding_closed"
    default_message = "A referrer can no longer be added to this account."


class InvalidName(RuleViolation):
    """A person's name holds something other than letters and the usual separators."""

    code = "invalid_name"
    default_message = "A name can hold letters, spaces and the separators · . ' - only."


class ProfileInvalid(RuleViolation):
    """A profile field breaks a rule (a birthday in the future, too many babies)."""

    code = "invalid_profile"


# --- authentication ----------------------------------------------------------------------
class AuthError(DomainError):
    """Credentials are missing, wrong or spent."""

    code = "unauthorized"
    default_message = "Missing or invalid credentials."


class InvalidCode(AuthError):
    """A one-time code is wrong, expired, used up or was never sent."""

    code = "invalid_code"
    default_message = "The code is wrong or has expired."


class InvalidTotp(AuthError):
    """The staff second factor is wrong or was already used."""

    code = "invalid_code"
    default_message = "The code is wrong or has expired."


class InvalidToken(AuthError):
    """An access or refresh token is malformed, expired or revoked."""

    code = "invalid_token"
    default_message = "The token is invalid or has expired."


class RefreshTokenReused(AuthError):
    """A spent refresh token was presented again; its whole family is now revoked."""

    code = "refresh_token_reused"
    default_message = "This session was revoked because an old token was reused. Sign in again."


class Forbidden(DomainError):
    """The principal is authenticated but not allowed to do this."""

    code = "forbidden"
    default_message = "You are not allowed to do this."


class AccountFrozen(Forbidden):
    """A frozen member cannot earn, spend, exchange or withdraw."""

    code = "account_frozen"
    default_message = "This account is frozen."


class KycRequired(Forbidden):
    """Withdrawals need an approved real-name verification."""

    code = "kyc_required"
    default_message = "Real-name verification must be approved first."


class StepUpRequired(Forbidden):
    """Changing the payout account or withdrawing needs a fresh proof of the phone on
    this session (``POST /v1/me/step-up``)."""

    code = "step_up_required"
    default_message = "Confirm with a new SMS code first (POST /v1/me/step-up/code, then /v1/me/step-up)."


# --- rate limits -----------------------------------------------------------------------------
class RateLimited(DomainError):
    """Too many requests; ``retry_after_s`` says when to try again."""

    code = "rate_limited"
    default_message = "Too many requests. Try again later."

    def __init__(self, retry_after_s: int, message: str | None = None) -> None:
        super().__init__(message)
        self.retry_after_s = max(1, int(retry_after_s))


class SmsBudgetExhausted(RateLimited):
    """Today's SMS budget (all numbers, or the number's country) is spent; codes resume
    the next Asia/Shanghai day. ``budget`` names it for ops, never for the caller."""

    code = "sms_budget_exhausted"
    default_message = "No more codes can be sent today. Try again tomorrow."

    def __init__(self, retry_after_s: int, budget: str) -> None:
        super().__init__(retry_after_s)
        self.budget = budget


# --- lookups and state conflicts --------------------------------------------------------------
class NotFound(DomainError):
    """The named thing does not exist (or is not visible to the caller)."""

    code = "not_found"
    default_message = "Not found."


class Conflict(DomainError):
    """The request conflicts with the current state."""

    code = "conflict"
    default_message = "The request conflicts with the current state."


class PhoneAlreadyRegistered(Conflict):
    """A member with this phone number exists."""

    code = "phone_registered"
    default_message = "This number is already registered."


class ReferrerAlreadyBound(Conflict):
    """The member already has a referrer; it is bound once."""

    code = "already_bound"
    default_message = "A referrer is already bound to this account."


class InvalidState(Conflict):
    """The thing is not in a state that allows this step (e.g. approving twice)."""

    code = "invalid_state"


class ReviewChanged(Conflict):
    """The member submitted again since the reviewer read the submission: a decision
    would apply to details nobody reviewed."""

    code = "review_changed"
    default_message = "The member submitted again since this version was read; review the current one."


class AccountNotClosable(Conflict):
    """An account holding aibi or an open withdrawal cannot be closed."""

    code = "account_not_closable"
    default_message = "Withdraw or spend the wallet balance and finish open withdrawals first."


class ConcurrentUpdate(Conflict):
    """Another request changed the same records first; retrying may succeed."""

    code = "concurrent_update"
    default_message = "Another request changed this first. Try again."


class IdempotencyKeyReused(RuleViolation):
    """The same idempotency key came with a different request."""

    code = "idempotency_key_reused"
    default_message = "This idempotency key was already used for a different request."


# --- the store could not complete the request (503 with Retry-After) ---------------------------
class Unavailable(DomainError):
    """The table could not serve the request now; ``retry_after_s`` says when to try again."""

    code = "service_unavailable"
    default_message = "The service is busy and nothing was changed. Try again shortly."
    retry_after_s = 1

    def __init__(self, message: str | None = None, retry_after_s: int | None = None) -> None:
        super().__init__(message)
        if retry_after_s is not None:
            self.retry_after_s = max(1, int(retry_after_s))


class Throttled(Unavailable):
    """The table refused the write or read for throughput: nothing was applied, a later try may pass."""


class OutcomeUnknown(Unavailable):
    """The write was sent but its outcome stayed unknown after re-sending it; with the same
    Idempotency-Key a retry answers the first outcome instead of acting again."""

    code = "outcome_unknown"
    default_message = (
        "We could not confirm whether this was applied. Retry with the same Idempotency-Key to get its outcome."
    )
    retry_after_s = 2
