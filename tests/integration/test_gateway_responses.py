"""Every gateway response of infra/api.yaml is readable by browsers. (The template it is
merged into is linted whole by `make test`, after `make package`.)"""

from __future__ import annotations

import json
import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
API = yaml.safe_load((ROOT / "infra" / "api.yaml").read_text(encoding="utf-8"))


def test_every_gateway_response_carries_the_cors_headers():
    responses = {n: r for n, r in API["Resources"].items() if r.get("Type") == "AWS::ApiGateway::GatewayResponse"}
    assert len(responses) == 7
    for name, resource in responses.items():
        headers = resource["Properties"]["ResponseParameters"]
        origin = headers["gatewayresponse.header.Access-Control-Allow-Origin"]
        assert origin == {"Fn::Sub": "'${CorsAllowOrigin}'"}, name
        exposed = headers["gatewayresponse.header.Access-Control-Expose-Headers"].strip("'").split(",")
        assert {"X-Request-Id", "Retry-After"} <= set(exposed), name


def test_every_deployed_stages_origin_is_a_valid_value_of_the_templates_parameter():
    pattern = re.compile(API["Parameters"]["CorsAllowOrigin"]["AllowedPattern"])
    stages = json.loads((ROOT / ".chalice" / "config.json").read_text(encoding="utf-8"))["stages"]
    origins = {name: stage["environment_variables"].get("CORS_ALLOW_ORIGIN") for name, stage in stages.items()}
    deployed = {name: origin for name, origin in origins.items() if name != "local"}
    assert deployed and all(origin and pattern.fullmatch(origin) for origin in deployed.values()), deployed
