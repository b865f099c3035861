"""``make package``: the Lambda bundle and its template for one stage, in ``out/<stage>/``.

Runs ``chalice package`` with the stage's environment (the app refuses to import without
a known ``STAGE``, and the CORS origin of the preflight answers is read at packaging),
merges ``infra/api.yaml``, and fails where Chalice only warns: a dependency it could not
package for the Lambda runtime would otherwise be missing from the bundle. The template's
``CorsAllowOrigin`` defaults to the stage's origin, so the gateway's own answers carry the
same origin as the app's without a deploy parameter to get wrong. Chalice writes an SQS
event source's queue as an ARN built from the queue's name; it becomes a reference to the
queue of that name in ``infra/api.yaml``, so CloudFormation creates the queue before the
event source mapping.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]


def stage_environment(stage: str) -> dict[str, str]:
    config = json.loads((ROOT / ".chalice" / "config.json").read_text(encoding="utf-8"))
    if stage not in config["stages"] or stage == "local":
        raise SystemExit(f"package: no deployable stage {stage!r} in .chalice/config.json")
    return {**config.get("environment_variables", {}), **config["stages"][stage]["environment_variables"]}


def reference_queues(template: dict[str, Any], stage: str) -> str | None:
    """Point every SQS event source at its queue by ``Fn::GetAtt``; the problem, if any."""
    resources = template["Resources"]
    queues = {
        props["QueueName"]["Fn::Sub"].replace("${Stage}", stage): name
        for name, resource in resources.items()
        if resource["Type"] == "AWS::SQS::Queue" and "QueueName" in (props := resource["Properties"])
    }
    for function, resource in resources.items():
        for event in (resource.get("Properties", {}).get("Events") or {}).values():
            if event["Type"] != "SQS":
                continue
            queue_name = event["Properties"]["Queue"]["Fn::Sub"].rpartition(":")[2]
            if queue_name not in queues:
                return f"{function} reads queue {queue_name}, which infra/api.yaml does not define"
            event["Properties"]["Queue"] = {"Fn::GetAtt": [queues[queue_name], "Arn"]}
    return None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--stage", default="prod")
    parser.add_argument("--region", default="cn-north-1")
    args = parser.parse_args()
    out = ROOT / "out" / args.stage
    shutil.rmtree(out, ignore_errors=True)
    variables = stage_environment(args.stage)
    env = {
        **os.environ,
        "STAGE": args.stage,
        "CORS_ALLOW_ORIGIN": variables.get("CORS_ALLOW_ORIGIN", ""),
        "AWS_DEFAULT_REGION": args.region,
    }
    chalice = Path(sys.executable).with_name("chalice")
    command = [str(chalice), "package", "--stage", args.stage, "--merge-template", "infra/api.yaml", str(out)]
    result = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True)
    sys.stdout.write(result.stdout)
    sys.stderr.write(result.stderr)
    if result.returncode != 0:
        return result.returncode
    if "Could not install dependencies" in result.stdout + result.stderr:
        print("package: Chalice could not package a dependency for the Lambda runtime (above)", file=sys.stderr)
        return 1
    template_path = out / "sam.yaml"
    template = yaml.safe_load(template_path.read_text(encoding="utf-8"))
    template["Parameters"]["CorsAllowOrigin"]["Default"] = env["CORS_ALLOW_ORIGIN"]
    if problem := reference_queues(template, args.stage):
        print(f"package: {problem}", file=sys.stderr)
        return 1
    template_path.write_text(yaml.safe_dump(template, sort_keys=False), encoding="utf-8")
    print(f"package: {out / 'deployment.zip'} and {out / 'sam.yaml'} (stage {args.stage}, {args.region})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
