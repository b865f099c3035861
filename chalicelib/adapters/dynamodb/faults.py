"""What a DynamoDB failure means for the request that met it, decided in one place.

A write ends in one of three ways: applied, definitely not applied (a condition failed,
a conflict, throttling: DynamoDB refused it whole), or UNKNOWN (it was sent and no
answer says what happened: a timeout or broken connection, ``TransactionInProgress``, a
5xx). Only the last must never be run again as a new write: the unit of work re-sends
the same transaction under the same client request token instead.
"""

from __future__ import annotations

from botocore.exceptions import BotoCoreError, ClientError
from pynamodb.exceptions import PynamoDBException

from ...domain.errors import Throttled, Unavailable

# whole-request refusals for throughput (after the SDK's own retries)
THROTTLING_CODES = frozenset(
    {"ProvisionedThroughputExceededException", "ThrottlingException", "RequestLimitExceeded"}
)
# the same, as cancellation reasons of one transaction item
THROTTLING_REASONS = frozenset({"ThrottlingError", "ProvisionedThroughputExceeded", "RequestLimitExceeded"})
# DynamoDB documents that the transaction may still commit after these
UNKNOWN_CODES = frozenset({"TransactionInProgressException", "InternalServerError", "ServiceUnavailable"})


def _cause(exc: BaseException) -> BaseException:
    return exc.cause if isinstance(exc, PynamoDBException) and exc.cause is not None else exc


def error_code(exc: BaseException) -> str | None:
    cause = _cause(exc)
    return cause.response.get("Error", {}).get("Code") if isinstance(cause, ClientError) else None


def is_throttled(exc: BaseException) -> bool:
    return error_code(exc) in THROTTLING_CODES


def outcome_unknown(exc: BaseException) -> bool:
    """Sent, with no answer saying whether it was applied."""
    cause = _cause(exc)
    if isinstance(cause, BotoCoreError):
        # botocore raises these only once its own retries (same body) are spent; a
        # timeout after sending cannot be told from one before, so assume it was sent
        return True
    if isinstance(cause, ClientError):
        status = cause.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0
        return error_code(cause) in UNKNOWN_CODES or status >= 500
    return False


def unavailable(exc: BaseException) -> Unavailable | None:
    """The 503 for a read (or a write outside a transaction) the table could not serve,
    or ``None`` when the failure is a bug and must stay a 500."""
    if not isinstance(_cause(exc), BotoCoreError | ClientError):
        return None
    if is_throttled(exc):
        return Throttled()
    if outcome_unknown(exc):
        return Unavailable()
    return None
