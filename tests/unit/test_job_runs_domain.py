"""The run lifecycle and how work is cut into units (``domain.job_runs``)."""

import pytest

from chalicelib.domain.job_runs import RunFinished, RunStatus, chunks, close, fail, resume


def test_a_run_closes_only_once_planned_and_every_unit_is_done():
    assert close(RunStatus.RUNNING, planned=False, done=0, total=0) is None
    assert close(RunStatus.RUNNING, planned=True, done=2, total=3) is None
    assert close(RunStatus.RUNNING, planned=True, done=3, total=3) is RunStatus.SUCCEEDED
    assert close(RunStatus.RUNNING, planned=True, done=0, total=0) is RunStatus.SUCCEEDED


def test_a_finished_run_is_never_closed_failed_or_resumed_again():
    for finished in (RunStatus.SUCCEEDED, RunStatus.FAILED):
        assert close(finished, planned=True, done=3, total=3) is None
        with pytest.raises(RunFinished):
            fail(finished)
        with pytest.raises(RunFinished):
            resume(finished)
    assert fail(RunStatus.RUNNING) is RunStatus.FAILED
    assert resume(RunStatus.RUNNING) is RunStatus.RUNNING


def test_units_cut_every_item_once_in_order():
    items = [f"m{i}" for i in range(123)]
    units = list(chunks(items, 50))
    assert [len(unit) for unit in units] == [50, 50, 23]
    assert [item for unit in units for item in unit] == items
    assert list(chunks([], 50)) == []
