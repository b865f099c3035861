"""``python -m chalicelib.settlement``: the JSON round trip and exit status 2 on bad input."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from chalicelib.domain.settlement import run_json
from chalicelib.settlement import main

from .builders import document, member

REPO = Path(__file__).resolve().parents[3]
DOC = document([member("m", tier=1), member("a", "m", stars=0), member("b", "m", stars=0)], {"a": 100_000, "b": 60_000})


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "chalicelib.settlement", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_the_command_reads_the_input_file_and_prints_the_output_document(tmp_path):
    source = tmp_path / "in.json"
    source.write_text(json.dumps(DOC), encoding="utf-8")
    done = _cli("--input", str(source))
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == run_json(DOC)
    assert done.stderr == ""


def test_the_command_writes_the_output_file_when_asked(tmp_path):
    source, target = tmp_path / "in.json", tmp_path / "out.json"
    source.write_text(json.dumps(DOC), encoding="utf-8")
    done = _cli("--input", str(source), "--output", str(target))
    assert (done.returncode, done.stdout) == (0, "")
    assert json.loads(target.read_text(encoding="utf-8")) == run_json(DOC)


def test_bad_input_exits_2_with_one_line_and_no_traceback(tmp_path):
    source = tmp_path / "in.json"
    source.write_text(json.dumps({**DOC, "members": [member("a", "ghost")]}), encoding="utf-8")
    done = _cli("--input", str(source))
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr
    assert "unknown referrer 'ghost'" in done.stderr


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{not json", "not valid JSON"),
        ('{"kind": "monthly", "max_payout_ratio": NaN}', "NaN is not a JSON number"),
        (json.dumps({**DOC, "volumes_fen": {"a": -5}}), "negative volume"),
        (json.dumps({**DOC, "members": [member("a", "b"), member("b", "a")]}), "cycle"),
        (json.dumps({**DOC, "period": "October"}), "YYYY-MM"),
        (json.dumps({**DOC, "kind": "yearly"}), "kind"),
        (json.dumps({**DOC, "members": [member("a"), member("a")]}), "more than once"),
        (json.dumps({**DOC, "members": [{**member("a"), "stars": "five"}], "volumes_fen": {}}), "integer"),
    ],
)
def test_each_kind_of_bad_input_exits_2_with_a_message(tmp_path, capsys, text, message):
    source = tmp_path / "in.json"
    source.write_text(text, encoding="utf-8")
    assert main(["--input", str(source)]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert message in captured.err and captured.err.count("\n") == 1


def test_missing_and_unwritable_files_exit_2(tmp_path, capsys):
    assert main(["--input", str(tmp_path / "absent.json")]) == 2
    assert "cannot read" in capsys.readouterr().err
    source = tmp_path / "in.json"
    source.write_text(json.dumps(DOC), encoding="utf-8")
    assert main(["--input", str(source), "--output", str(tmp_path / "no" / "such" / "dir.json")]) == 2
    assert "cannot write" in capsys.readouterr().err


def test_importing_chalicelib_imports_nothing_else():
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys, chalicelib; print(len([m for m in sys.modules if m.startswith('chalicelib.')]))",
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert done.stdout.strip() == "0"
