"""Structured logging (Powertools Logger) with personal data redacted on the way out,
CloudWatch metrics in the embedded metric format (Powertools Metrics), and X-Ray traces
(Powertools Tracer).

Code never logs personal data on purpose; the redaction filter is the second guard: it
masks anything shaped like a phone number or a resident ID number in every record.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.metrics.functions import is_metrics_disabled

_PATTERNS = (
    (re.compile(r"\+?\d{1,3}[ -]?1[3-9]\d{9}\b|\b1[3-9]\d{9}\b"), "[phone]"),
    (re.compile(r"\b\d{17}[\dXx]\b"), "[id-number]"),
)


def redact(text: str) -> str:
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


def _redact_value(value: Any) -> Any:
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {key: _redact_value(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_redact_value(item) for item in value]
    return value


class RedactingFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = redact(record.msg)
        if record.args:
            record.args = (
                tuple(_redact_value(arg) for arg in record.args) if isinstance(record.args, tuple) else record.args
            )
        for key, value in list(vars(record).items()):
            if key not in ("msg", "args") and isinstance(value, str | dict | list):
                setattr(record, key, _redact_value(value))
        return True


logger = Logger(service="member-points")
# botocore logs request bodies at DEBUG, and an SNS SMS request carries the phone number
for _noisy in ("botocore", "boto3", "urllib3", "pynamodb"):
    logging.getLogger(_noisy).setLevel(logging.WARNING)
logger.addFilter(RedactingFilter())

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
