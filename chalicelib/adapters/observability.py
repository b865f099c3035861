"""Structured logging (Powertools Logger) with personal data redacted on the way out,
CloudWatch metrics in the embedded metric format (Powertools Metrics), and X-Ray traces
(Powertools Tracer).

Code never logs personal data on purpose; redaction is the second guard, applied to the
final record as it is written (message, extra keys, appended keys, the formatted exception
and its stack trace): phone numbers, resident ID numbers and bank card numbers in any
string, and the whole value of a key that holds a name or an address.
"""

from __future__ import annotations

import json
import logging
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.metrics.functions import is_metrics_disabled

# Digits inside a word or a dashed token are left alone (a ULID, a UUID, a key, a hash:
# "11d2-8830-001613912345" is not a card); digits next to Chinese text are not (Python's
# \b would treat CJK letters as part of the word).
_START = r"(?<![0-9A-Za-z_])(?<![0-9A-Za-z_]-)"
_END = r"(?![0-9A-Za-z_]|-[0-9A-Za-z_])"
_PATTERNS = (
    (re.compile(_START + r"\d{17}[\dXx]" + _END), "[id-number]"),
    # 16 to 19 digits, written in groups or not
    (re.compile(_START + r"\d(?:[ -]?\d){15,18}" + _END), "[card-number]"),
    # any number in international form: + and 7 to 15 digits
    (re.compile(r"\+\d(?:[ -]?\d){6,14}" + _END), "[phone]"),
    # mainland mobiles, 3-4-4 with spaces or dashes, with or without 86 / 0086
    (re.compile(_START + r"(?:(?:00)?86[ -]?)?1[3-9]\d(?:[ -]?\d{4}){2}" + _END), "[phone]"),
)
# keys whose whole value is personal, wherever they appear (extra, nested dicts)
_PERSONAL_KEY = re.compile(r"^(?:(?:real|full|nick|user|holder|contact|account)_?)?name$|holder$|address$")


def redact(text: str) -> str:
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


def _redact_value(value: Any) -> Any:
    # numbers stay numbers (amounts in fen, durations, epoch seconds): code writes them,
    # personal data arrives as text
    if value is None or isinstance(value, bool | int | float):
        return value
    if isinstance(value, dict):
        return {
            key: "[redacted]" if item is not None and _PERSONAL_KEY.search(str(key)) else _redact_value(item)
            for key, item in value.items()
        }
    if isinstance(value, list | tuple):
        return [_redact_value(item) for item in value]
    # strings, and anything JSON would write through str(): an exception object, a datetime
    return redact(str(value))


def redacted_json(log: dict[str, Any]) -> str:
    """The Powertools formatter's serializer: the finished record, redacted, as one JSON line."""
    return json.dumps(_redact_value(log), separators=(",", ":"), ensure_ascii=False)


logger = Logger(service="member-points", json_serializer=redacted_json)
# botocore logs request bodies at DEBUG, and an SNS SMS request carries the phone number
for _noisy in ("botocore", "boto3", "urllib3", "pynamodb"):
    logging.getLogger(_noisy).setLevel(logging.WARNING)

# the namespace is per stage (POWERTOOLS_METRICS_NAMESPACE, .chalice/config.json), so alarms never mix stages
metrics = Metrics(service="member-points")
# A Lambda process serves one request at a time; the local server serves several in
# threads, and the metric set is one shared dict (Powertools serialises it while another
# request adds to it): one lock around both.
_metrics_lock = threading.Lock()


# X-Ray: a subsegment for every AWS call (botocore patched) and one per request or job run
# (``traced``). Powertools switches it off outside Lambda, so tests and the local stage pay
# nothing. The authorizer's function does not import this module: Lambda's own segment
# traces it, without the SDK's import time.
tracer = Tracer(service="member-points", patch_modules=("botocore",))


@contextmanager
def traced(name: str, **annotations: str) -> Iterator[None]:
    """One X-Ray subsegment around a request or a job run, annotated so traces can be
    searched by route or job."""
    with tracer.provider.in_subsegment(f"## {name}") as subsegment:
        for key, value in annotations.items():
            subsegment.put_annotation(key, value)
        yield


def count(name: str, value: int = 1) -> None:
    """Add to a business counter; flushed at the end of each request or job."""
    if is_metrics_disabled():
        return
    with _metrics_lock:
        metrics.add_metric(name=name, unit=MetricUnit.Count, value=value)


def flush_metrics() -> None:
    with _metrics_lock:
        if metrics.metric_set:
            metrics.flush_metrics(raise_on_empty_metrics=False)
