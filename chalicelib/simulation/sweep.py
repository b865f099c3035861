"""Sensitivity runs: ``--sweep PARAM=v1,v2,...`` reruns the same trials for each value of one setting.

PARAM is the dotted path of a single-number setting of the plan (``config.number_settings``),
or an ending of it that is unique: ``small_group_rate_bp``, ``q1_threshold_fen``,
``max_payout_ratio`` (``null`` = no cap), ``chain.recent_share``... Each value is a
JSON literal and is validated like a plan file's. Every value's trials use the same
trial seeds, so a rule change is measured on exactly the same populations (they are
generated once per trial and reused while only rules change).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from .config import ConfigError, SimulationConfig, load_config, resolve_setting, with_setting


@dataclass(frozen=True)
class Sweep:
    """One setting and the values it takes, each with the configuration it gives."""

    path: str
    values: tuple[Any, ...]
    configs: tuple[SimulationConfig, ...]

    @property
    def label(self) -> str:
        return f"{self.path}=" + ",".join(json.dumps(v) for v in self.values)


def parse_sweep(text: str, plan: dict[str, Any]) -> Sweep:
    """The sweep ``PARAM=v1,v2,...`` applied to the plan document ``plan``; ``ConfigError`` if unusable."""
    name, equals, listed = text.partition("=")
    if not equals or not name.strip() or not listed.strip():
        raise ConfigError(f"--sweep wants PARAM=v1,v2,..., not {text!r}")
    path = resolve_setting(name.strip())
    values = []
    for item in listed.split(","):
        try:
            values.append(json.loads(item))
        except json.JSONDecodeError:
            raise ConfigError(f"--sweep value {item.strip()!r} for {path} is not a JSON number or null") from None
    configs = []
    for value in values:
        try:
            configs.append(load_config(with_setting(plan, path, value)))
        except ConfigError as exc:
            raise ConfigError(f"--sweep {path}={json.dumps(value)}: {exc}") from None
    return Sweep(path, tuple(values), tuple(configs))
