"""Writes the API's OpenAPI document to a file, built in process (no server): what
`make ts-check` generates the TypeScript types from.

Usage: python clients/typescript/write_openapi.py OUT.json
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from app import app  # noqa: F401  (registers every route)
from chalicelib.config import Settings
from chalicelib.entrypoints.openapi import openapi_document

if __name__ == "__main__":
    document = openapi_document(Settings.from_env().public_base_url)
    Path(sys.argv[1]).write_text(json.dumps(document, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
