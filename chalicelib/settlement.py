"""Command line for the offline settlement engine (API.md, "Settlement engine").

    python -m chalicelib.settlement --input IN.json [--output OUT.json]

Writes the output document to OUT.json, or to stdout without ``--output``. Bad input
(unreadable file, invalid JSON, a document the engine refuses) ends with a one-line
message on stderr and exit status 2; a traceback would mean a bug.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence

from chalicelib.domain.settlement import SettlementInputError, run_json

EXIT_BAD_INPUT = 2


class _BadInput(Exception):
    """A problem with the command's input, reported in one line."""


def _reject_constant(name: str) -> float:
    raise _BadInput(f"{name} is not a JSON number")


def _read(path: str) -> object:
    try:
        with open(path, encoding="utf-8") as handle:
            return json.load(handle, parse_constant=_reject_constant)
    except OSError as exc:
        raise _BadInput(f"cannot read {path}: {exc.strerror or exc}") from exc
    except UnicodeDecodeError as exc:
        raise _BadInput(f"{path} is not UTF-8 text: {exc.reason}") from exc
    except json.JSONDecodeError as exc:
        raise _BadInput(f"{path} is not valid JSON: {exc}") from exc
    except RecursionError as exc:
        raise _BadInput(f"{path} nests JSON too deeply") from exc


def _write(text: str, path: str | None) -> None:
    if path is None:
        sys.stdout.write(text)
        sys.stdout.flush()
        return
    try:
        with open(path, "w", encoding="utf-8") as handle:
            handle.write(text)
    except OSError as exc:
        raise _BadInput(f"cannot write {path}: {exc.strerror or exc}") from exc


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m chalicelib.settlement",
        description="Settle one period of the member rewards programme (RULES.md section 5).",
    )
    parser.add_argument("--input", required=True, metavar="IN.json", help="input document")
    parser.add_argument("--output", metavar="OUT.json", help="output document (default: stdout)")
    args = parser.parse_args(argv)
    try:
        output = run_json(_read(args.input))
        _write(json.dumps(output, ensure_ascii=False, separators=(",", ":")) + "\n", args.output)
    except (_BadInput, SettlementInputError) as exc:
        print(f"settlement: error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    return 0


if __name__ == "__main__":
    sys.exit(main())
