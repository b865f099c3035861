"""infra/api.yaml, merged into a template the way `chalice package --merge-template` does,
is a valid CloudFormation template whose every gateway response is readable by browsers."""

from __future__ import annotations

import json
import re
from pathlib import Path

import yaml
from cfnlint.api import ManualArgs, lint
from chalice.package import TemplateDeepMerger

ROOT = Path(__file__).resolve().parents[2]
API = yaml.safe_load((ROOT / "infra" / "api.yaml").read_text(encoding="utf-8"))


def test_the_merged_template_lints_clean():
    chalices = {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Resources": {"RestAPI": {"Type": "AWS::ApiGateway::RestApi", "Properties": {"Name": "member-points"}}},
    }
    merged = TemplateDeepMerger().merge(API, chalices)
    assert lint(json.dumps(merged), config=ManualArgs(regions=["cn-north-1"])) == []


def test_every_gateway_response_carries_the_cors_headers():
    for name, resource in API["Resources"].items():
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
