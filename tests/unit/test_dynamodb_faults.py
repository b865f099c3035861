"""How a DynamoDB failure is classified: not applied (retry), unknown (re-send the same
request), or a bug; and which failures a caller sees as 503."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError, ConnectTimeoutError, ReadTimeoutError
from pynamodb.exceptions import CancellationReason, GetError, QueryError, TransactWriteError, VerboseClientError
from pynamodb.transactions import TransactWrite

from chalicelib.adapters.dynamodb.faults import is_throttled, outcome_unknown, unavailable
from chalicelib.adapters.dynamodb.uow import UnitOfWork, _Operation
from chalicelib.domain.errors import ConcurrentUpdate, InvalidState, Throttled, Unavailable


def client_error(code: str, status: int = 400, reasons: list[str] | None = None) -> ClientError:
    response: dict = {"Error": {"Code": code, "Message": code}, "ResponseMetadata": {"HTTPStatusCode": status}}
    if reasons is not None:
        response["CancellationReasons"] = [{"Code": reason} for reason in reasons]
    return ClientError(response, "TransactWriteItems")


def cancelled(*reasons: str) -> TransactWriteError:
    """What PynamoDB raises for a cancelled transaction (its own wrapping of the reasons)."""
    cause = VerboseClientError(
        {"Error": {"Code": "TransactionCanceledException", "Message": "cancelled"}},
        "TransactWriteItems",
        {},
        cancellation_reasons=[CancellationReason(code=r) if r != "None" else None for r in reasons],
    )
    return TransactWriteError("Failed", cause)


def operations(count: int, on_fail=None) -> list[_Operation]:
    return [_Operation(0, f"op{n}", lambda tx: None, on_fail) for n in range(count)]


@pytest.mark.parametrize(
    "cause",
    [
        client_error("TransactionInProgressException"),
        client_error("InternalServerError", 500),
        client_error("ServiceUnavailable", 503),
        ReadTimeoutError(endpoint_url="https://dynamodb"),
        ConnectTimeoutError(endpoint_url="https://dynamodb"),
    ],
    ids=["in progress", "500", "503", "read timeout", "connect timeout"],
)
def test_a_write_sent_without_an_answer_has_an_unknown_outcome(cause):
    assert outcome_unknown(TransactWriteError("Failed", cause))


@pytest.mark.parametrize(
    "code", ["TransactionCanceledException", "TransactionConflictException", "ValidationException",
             "ProvisionedThroughputExceededException", "IdempotentParameterMismatchException"]
)
def test_a_refusal_is_a_known_outcome(code):
    assert not outcome_unknown(TransactWriteError("Failed", client_error(code)))


def test_throttling_among_the_cancellation_reasons_is_throttled_and_retried_like_a_conflict():
    translated = UnitOfWork._translate(cancelled("None", "ThrottlingError"), operations(2))
    assert isinstance(translated, Throttled)
    translated = UnitOfWork._translate(cancelled("ProvisionedThroughputExceeded", "None"), operations(2))
    assert isinstance(translated, Throttled)
    translated = UnitOfWork._translate(cancelled("TransactionConflict", "ThrottlingError"), operations(2))
    assert isinstance(translated, ConcurrentUpdate)


def test_a_failed_condition_still_names_its_own_error_when_another_item_was_throttled():
    ops = operations(1) + operations(1, on_fail=InvalidState)
    assert isinstance(UnitOfWork._translate(cancelled("ThrottlingError", "ConditionalCheckFailed"), ops), InvalidState)


def test_a_whole_transaction_refused_for_throughput_is_throttled():
    error = TransactWriteError("Failed", client_error("ProvisionedThroughputExceededException"))
    assert isinstance(UnitOfWork._translate(error, operations(1)), Throttled)


def test_a_validation_error_stays_a_bug():
    error = cancelled("ValidationError")
    assert UnitOfWork._translate(error, operations(1)) is error


@pytest.mark.parametrize(
    "code", ["ProvisionedThroughputExceededException", "ThrottlingException", "RequestLimitExceeded"]
)
@pytest.mark.parametrize("wrapper", [GetError, QueryError])
def test_a_read_throttled_past_the_sdk_retries_is_a_503_that_wrote_nothing(code, wrapper):
    error = wrapper("Failed", client_error(code))
    assert is_throttled(error)
    assert isinstance(unavailable(error), Throttled)


def test_a_read_that_timed_out_is_a_503_and_a_bad_request_or_our_bug_is_not():
    assert isinstance(unavailable(GetError("Failed", ReadTimeoutError(endpoint_url="https://dynamodb"))), Unavailable)
    assert unavailable(QueryError("Failed", client_error("ValidationException"))) is None
    assert unavailable(KeyError("x")) is None


def test_the_operation_id_fits_the_client_request_token():
    uow = UnitOfWork()
    # DynamoDB takes 1 to 36 characters; each unit of work has its own
    assert 1 <= len(uow.operation_id) <= 36 and uow.operation_id != UnitOfWork().operation_id
    TransactWrite(client_request_token=uow.operation_id, connection=None)  # type: ignore[arg-type]
