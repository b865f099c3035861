"""The consent rules without storage: versions in force, acceptance, separate consents,
erasure previews and the close preview's confirmation."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from chalicelib.domain import consent
from chalicelib.domain.consent import Acceptance, DocumentVersion, LegalDoc, Purpose

NOW = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)


def version(doc: LegalDoc, n: int, effective_at: datetime) -> DocumentVersion:
    return DocumentVersion(doc, n, f"{doc} v{n}", "text", effective_at, effective_at, "admin")


BOTH_V1 = [version(LegalDoc.PRIVACY, 1, NOW - timedelta(days=30)), version(LegalDoc.TERMS, 1, NOW - timedelta(days=30))]


def test_the_version_in_force_is_the_highest_that_took_effect_not_one_still_to_come():
    future = version(LegalDoc.PRIVACY, 3, NOW + timedelta(days=1))
    current = version(LegalDoc.PRIVACY, 2, NOW)
    in_force = consent.in_force([*BOTH_V1, current, future], NOW)
    assert in_force[LegalDoc.PRIVACY].version == 2
    assert in_force[LegalDoc.TERMS].version == 1
    assert consent.in_force([*BOTH_V1, current, future], NOW + timedelta(days=1))[LegalDoc.PRIVACY].version == 3


def test_registration_must_name_every_document_with_its_version_in_force():
    in_force = consent.in_force(BOTH_V1, NOW)
    with pytest.raises(consent.ConsentRequired) as missing:
        consent.check_acceptance([Acceptance(LegalDoc.PRIVACY, 1)], in_force)
    assert missing.value.details["required"] == [{"doc": "privacy", "version": 1}, {"doc": "terms", "version": 1}]
    with pytest.raises(consent.ConsentRequired):
        consent.check_acceptance([Acceptance(LegalDoc.PRIVACY, 2), Acceptance(LegalDoc.TERMS, 1)], in_force)
    accepted = consent.check_acceptance([Acceptance(LegalDoc.TERMS, 1), Acceptance(LegalDoc.PRIVACY, 1)], in_force)
    assert accepted == [Acceptance(LegalDoc.PRIVACY, 1), Acceptance(LegalDoc.TERMS, 1)]


def test_registration_is_closed_until_both_documents_are_in_force():
    only_privacy = consent.in_force(BOTH_V1[:1], NOW)
    with pytest.raises(consent.LegalDocumentsUnpublished):
        consent.check_acceptance([Acceptance(LegalDoc.PRIVACY, 1)], only_privacy)


def test_a_new_version_in_force_is_outstanding_until_accepted_and_then_spends_pass():
    in_force = consent.in_force([*BOTH_V1, version(LegalDoc.TERMS, 2, NOW)], NOW)
    accepted = {"privacy": 1, "terms": 1}
    assert consent.outstanding(accepted, in_force) == [Acceptance(LegalDoc.TERMS, 2)]
    with pytest.raises(consent.ConsentOutdated):
        consent.require_current(accepted, in_force)
    consent.require_current({"privacy": 1, "terms": 2}, in_force)


def test_a_member_who_accepted_nothing_cannot_spend():
    with pytest.raises(consent.ConsentOutdated):
        consent.require_current({}, consent.in_force(BOTH_V1, NOW))


def test_a_new_version_must_be_newer_and_cannot_take_effect_in_the_past():
    with pytest.raises(consent.VersionNotNewer):
        consent.check_new_version(BOTH_V1, 1, NOW, NOW)
    with pytest.raises(consent.EffectiveInPast):
        consent.check_new_version(BOTH_V1, 2, NOW - timedelta(seconds=1), NOW)
    consent.check_new_version(BOTH_V1, 2, NOW, NOW)


def test_sensitive_data_needs_its_own_consent():
    with pytest.raises(consent.SeparateConsentRequired) as refused:
        consent.require_granted({"babies"}, Purpose.ID_NUMBER)
    assert refused.value.details == {"purpose": "id_number"}
    consent.require_granted({"id_number"}, Purpose.ID_NUMBER)


def test_the_erasure_preview_names_what_goes_and_its_confirmation_follows_the_state():
    approved = consent.erasure_preview(Purpose.ID_NUMBER, kyc_status="approved", kyc_version=2, babies=0)
    assert approved.erases == ("real_name", "id_number") and approved.consequences
    resubmitted = consent.erasure_preview(Purpose.ID_NUMBER, kyc_status="pending", kyc_version=3, babies=0)
    assert resubmitted.confirmation != approved.confirmation
    nothing = consent.erasure_preview(Purpose.ID_NUMBER, kyc_status=None, kyc_version=0, babies=0)
    assert nothing.erases == () and nothing.consequences == ()
    two = consent.erasure_preview(Purpose.BABIES, kyc_status=None, kyc_version=0, babies=2)
    assert two.erases == ("babies",)
    one = consent.erasure_preview(Purpose.BABIES, kyc_status=None, kyc_version=0, babies=1)
    assert two.confirmation != one.confirmation


def test_a_stale_confirmation_is_refused():
    with pytest.raises(consent.ConfirmationStale):
        consent.require_confirmation("abc", "abd")
    consent.require_confirmation("abc", "abc")


def test_the_close_confirmation_changes_with_any_figure_and_with_the_member():
    figures = {
        "points_available": 60,
        "points_pending": 30,
        "points_held": 0,
        "unreleased_rewards_fen": 500,
        "balance_fen": 0,
        "held_fen": 0,
    }
    base = consent.close_preview("m1", **figures)
    assert base.closable
    assert consent.close_preview("m2", **figures).confirmation != base.confirmation
    for name in figures:
        changed = consent.close_preview("m1", **{**figures, name: figures[name] + 1})
        assert changed.confirmation != base.confirmation, name
    assert not consent.close_preview("m1", **{**figures, "balance_fen": 1}).closable
