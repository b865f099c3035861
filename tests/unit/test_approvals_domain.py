"""The approval request's lifecycle and the four-eyes rules, without storage."""

from datetime import UTC, datetime, timedelta

import pytest

from chalicelib.domain.approvals import (
    ApprovalAlreadyApproved,
    ApprovalAlreadyCancelled,
    ApprovalAlreadyRejected,
    ApprovalExpired,
    ApprovalRequest,
    ApprovalStatus,
    FourEyesRequired,
    NotRequester,
    needs_approval,
    require_second_person,
)

NOW = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)
DEADLINE = NOW + timedelta(hours=72)


def pending() -> ApprovalRequest:
    return ApprovalRequest("alice", ApprovalStatus.PENDING, DEADLINE)


def test_a_second_person_approves_or_rejects_a_pending_request():
    assert pending().approve("bob", NOW) is ApprovalStatus.APPROVED
    assert pending().reject("bob", NOW) is ApprovalStatus.REJECTED


def test_nobody_approves_or_rejects_their_own_request():
    with pytest.raises(FourEyesRequired) as refused:
        pending().approve("alice", NOW)
    assert refused.value.code == "four_eyes_required"
    with pytest.raises(FourEyesRequired):
        pending().reject("alice", NOW)


def test_only_the_requester_cancels():
    assert pending().cancel("alice", NOW) is ApprovalStatus.CANCELLED
    with pytest.raises(NotRequester):
        pending().cancel("bob", NOW)


@pytest.mark.parametrize(
    ("status", "error", "code"),
    [
        (ApprovalStatus.APPROVED, ApprovalAlreadyApproved, "already_approved"),
        (ApprovalStatus.REJECTED, ApprovalAlreadyRejected, "already_rejected"),
        (ApprovalStatus.CANCELLED, ApprovalAlreadyCancelled, "already_cancelled"),
    ],
)
def test_each_way_a_second_resolution_fails_has_its_own_error(status, error, code):
    decided = ApprovalRequest("alice", status, DEADLINE)
    for step, by in (("approve", "bob"), ("reject", "bob"), ("cancel", "alice")):
        with pytest.raises(error) as refused:
            getattr(decided, step)(by, NOW)
        assert refused.value.code == code


def test_a_request_lapses_at_its_deadline_and_then_nothing_resolves_it():
    request = pending()
    assert request.status_at(DEADLINE - timedelta(seconds=1)) is ApprovalStatus.PENDING
    assert request.status_at(DEADLINE) is ApprovalStatus.EXPIRED
    for step, by in (("approve", "bob"), ("reject", "bob"), ("cancel", "alice")):
        with pytest.raises(ApprovalExpired) as refused:
            getattr(request, step)(by, DEADLINE)
        assert refused.value.code == "approval_expired"


def test_a_decided_request_stays_decided_after_the_deadline():
    approved = ApprovalRequest("alice", ApprovalStatus.APPROVED, DEADLINE)
    assert approved.status_at(DEADLINE + timedelta(days=30)) is ApprovalStatus.APPROVED


def test_the_threshold_is_on_the_absolute_amount_and_the_days_sum():
    assert not needs_approval(100_000, 0, 100_000)
    assert needs_approval(100_001, 0, 100_000)
    assert needs_approval(-100_001, 0, 100_000)
    assert not needs_approval(-40_000, 60_000, 100_000)
    assert needs_approval(-40_001, 60_000, 100_000)


def test_the_second_step_must_be_taken_by_someone_else():
    require_second_person("alice", "bob")
    require_second_person(None, "bob")
    with pytest.raises(FourEyesRequired):
        require_second_person("bob", "bob")
