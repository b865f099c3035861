"""The deployable artifact as Lambda would run it: every function named in the packaged
template imports its handler from the unzipped bundle alone, in an isolated interpreter
of the runtime's Python version, with the function's environment from the template; and
the template says what an operator needs (regional API, a policy, timeout, log retention,
tracing and failure destination per function, alarms to the ops topic).

Run by ``make test`` after ``make package`` (``PACKAGE_DIR``, default ``out/prod``).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / os.environ.get("PACKAGE_DIR", "out/prod")
HTTP_FUNCTIONS = ("APIHandler", "Bearer")
QUEUE_WORKERS = ("SmsWorker", "JobWorker")
# what the API's and the authorizer's cold start must not pay for
HEAVY = ("numpy", "matplotlib", "chalicelib.domain.settlement", "chalicelib.service_layer.settlement_run")


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    return yaml.safe_load((PACKAGE / "sam.yaml").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    target = tmp_path_factory.mktemp("bundle")
    with zipfile.ZipFile(PACKAGE / "deployment.zip") as archive:
        archive.extractall(target)
    return target


def functions(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        name: resource["Properties"]
        for name, resource in template["Resources"].items()
        if resource["Type"] == "AWS::Serverless::Function"
    }


def environment(template: dict[str, Any], properties: dict[str, Any]) -> dict[str, str]:
    """The function's variables over the template's Globals; values CloudFormation resolves
    at deployment (imports from the data stack) become placeholders of the same shape."""
    merged = {
        **template.get("Globals", {}).get("Function", {}).get("Environment", {}).get("Variables", {}),
        **properties.get("Environment", {}).get("Variables", {}),
    }
    return {
        name: value if isinstance(value, str) else f"resolved-at-deploy-{name.lower()}"
        for name, value in merged.items()
    }


def import_in_isolation(bundle: Path, handler: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    module, _, attribute = handler.rpartition(".")
    code = (
        "import importlib, json, sys\n"
        f"sys.path.insert(0, {str(bundle)!r})\n"
        f"handler = getattr(importlib.import_module({module!r}), {attribute!r})\n"
        "assert callable(handler), 'the handler is not callable'\n"
        "print(json.dumps(sorted(sys.modules)))\n"
    )
    # -I: no environment variables, no user site; -S: no site-packages, only the bundle
    return subprocess.run(
        [sys.executable, "-I", "-S", "-c", code],
        cwd=bundle,
        env={"PATH": "/usr/bin:/bin", "AWS_REGION": "cn-north-1", "AWS_LAMBDA_FUNCTION_NAME": "x", **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_template_targets_the_runtime_of_the_tests_and_names_every_function(template):
    found = functions(template)

    assert set(found) == {
        "APIHandler",
        "Bearer",
        "ReleasePending",
        "ExpirePoints",
        "Reconcile",
        "SettleMonthly",
        "SettleQuarterly",
        "ReleaseRewards",
        "EvaluateGuides",
        "SmsWorker",
        "JobWorker",
    }
    assert {p["Runtime"] for p in found.values()} == {f"python{sys.version_info.major}.{sys.version_info.minor}"}


def test_every_handler_imports_from_the_bundle_alone(template, bundle):
    failures = {}
    for name, properties in functions(template).items():
        result = import_in_isolation(bundle, properties["Handler"], environment(template, properties))
        if result.returncode != 0:
            failures[name] = result.stderr.strip().splitlines()[-1:]
            continue
        modules = set(json.loads(result.stdout))
        assert not {m for m in modules if m.startswith("tests")}, name
        if name in HTTP_FUNCTIONS + QUEUE_WORKERS:
            assert not modules & set(HEAVY), (name, modules & set(HEAVY))
        if name in QUEUE_WORKERS:  # a worker loads neither the routes nor their schemas
            assert not modules & {"app", "chalicelib.entrypoints.http", "chalicelib.entrypoints.schemas"}, name
    assert failures == {}


def test_the_authorizer_imports_no_route_model_or_table_client(template, bundle):
    properties = functions(template)["Bearer"]
    result = import_in_isolation(bundle, properties["Handler"], environment(template, properties))

    modules = set(json.loads(result.stdout))
    assert not modules & {"pynamodb", "pydantic", "chalicelib.entrypoints.http"}


def test_a_handler_without_a_stage_refuses_to_start(template, bundle):
    properties = functions(template)["Bearer"]
    env = {k: v for k, v in environment(template, properties).items() if k != "STAGE"}

    result = import_in_isolation(bundle, properties["Handler"], env)

    assert result.returncode != 0
    assert "STAGE must be one of" in result.stderr


def test_the_bundle_holds_no_local_stage_secrets_or_test_code(bundle):
    names = {p.relative_to(bundle).as_posix() for p in bundle.rglob("*") if p.is_file()}

    assert not {n for n in names if n.startswith(("tests/", ".chalice/", "infra/"))}
    assert "chalicelib/entrypoints/route_access.json" in names


def test_the_api_is_regional_with_tracing_access_logs_and_a_domain_at_its_root(template):
    resources = template["Resources"]
    api = resources["RestAPI"]["Properties"]

    assert api["EndpointConfiguration"] == "REGIONAL"
    assert api["TracingEnabled"] is True
    assert api["AccessLogSetting"]["DestinationArn"] == {"Fn::GetAtt": ["ApiAccessLogs", "Arn"]}
    mapping = resources["ApiDomainMapping"]["Properties"]
    assert "BasePath" not in mapping  # the domain's root: https://<domain>/v1/..., never /v1/v1
    assert resources["ApiDomain"]["Properties"]["EndpointConfiguration"] == {"Types": ["REGIONAL"]}


def test_http_functions_answer_within_api_gateways_29_seconds_and_the_job_worker_gets_lambdas_maximum(template):
    found = functions(template)

    assert all(found[name]["Timeout"] < 29 for name in HTTP_FUNCTIONS)
    # a schedule only starts a run; the worker runs a settlement whole in one message
    starters = set(found) - set(HTTP_FUNCTIONS) - set(QUEUE_WORKERS)
    assert all(found[name]["Timeout"] <= 30 for name in starters)
    assert found["JobWorker"]["Timeout"] == 900
    assert found["Bearer"]["MemorySize"] < found["APIHandler"]["MemorySize"]


def _statements(template: dict[str, Any], function: str) -> list[dict[str, Any]]:
    role = template["Resources"][function]["Properties"]["Role"]["Fn::GetAtt"][0]
    policies = template["Resources"][role]["Properties"]["Policies"]
    return [statement for policy in policies for statement in policy["PolicyDocument"]["Statement"]]


def _actions(template: dict[str, Any], function: str) -> set[str]:
    return {action for s in _statements(template, function) for action in s["Action"]}


def test_each_function_has_a_least_privilege_policy(template):
    authorizer = _actions(template, "Bearer")
    assert not {a for a in authorizer if a.startswith(("dynamodb:", "s3:", "sns:", "sqs:"))}
    # the scheduled functions only start runs; the job worker does the work, settlements included
    assert "s3:PutObject" in _actions(template, "JobWorker")
    for starter in ("ReleasePending", "Reconcile", "SettleMonthly"):
        assert "s3:PutObject" not in _actions(template, starter), starter
    for function in functions(template):
        for statement in _statements(template, function):
            if statement["Action"] == ["sns:Publish"]:
                assert statement["Resource"] != "*", function  # only the ops topic
            if statement["Resource"] == "*":
                assert set(statement["Action"]) <= {"xray:PutTraceSegments", "xray:PutTelemetryRecords"}, function


def test_every_function_has_log_retention_and_active_tracing(template):
    resources = template["Resources"]
    groups = {
        resource["Properties"]["LogGroupName"]["Fn::Sub"]: resource["Properties"]["RetentionInDays"]
        for resource in resources.values()
        if resource["Type"] == "AWS::Logs::LogGroup" and "LogGroupName" in resource["Properties"]
    }

    for name, properties in functions(template).items():
        assert groups.get(f"/aws/lambda/${{{name}}}", 0) > 0, name
        assert properties["Tracing"] == "Active", name


def test_every_scheduled_function_sends_its_failures_to_the_queue_ops_are_alerted_about(template):
    for name, properties in functions(template).items():
        if name in HTTP_FUNCTIONS + QUEUE_WORKERS:
            continue
        assert "Schedule" in {event["Type"] for event in properties["Events"].values()}, name
        on_failure = properties["EventInvokeConfig"]["DestinationConfig"]["OnFailure"]
        assert on_failure == {"Type": "SQS", "Destination": {"Fn::GetAtt": ["JobFailures", "Arn"]}}, name
        sends = [s for s in _statements(template, name) if s["Sid"] == "OnFailureDestination"]
        assert [(s["Action"], s["Resource"]) for s in sends] == [
            (["sqs:SendMessage"], {"Fn::GetAtt": ["JobFailures", "Arn"]})
        ], name


def test_alarms_watch_5xx_throttles_job_errors_failed_runs_reconcile_and_sms_and_tell_ops(template):
    alarms = {
        name: resource["Properties"]
        for name, resource in template["Resources"].items()
        if resource["Type"] == "AWS::CloudWatch::Alarm"
    }
    ops = [{"Fn::ImportValue": {"Fn::Sub": "member-points-data-${Stage}-OpsAlertsTopicArn"}}]

    assert set(alarms) == {
        "ServerErrorsAlarm",
        "Gateway5xxAlarm",
        "ThrottlesAlarm",
        "JobErrorsAlarm",
        "JobFailuresWaiting",
        "ReconcileMismatchAlarm",
        "SmsFailedAlarm",
        "SmsDeadLettersWaiting",
        "SmsQueueDelayed",
        "JobDeadLettersWaiting",
        "JobsQueueDelayed",
    }
    assert all(alarm["AlarmActions"] == ops for alarm in alarms.values())
    job_errors = {
        m["MetricStat"]["Metric"]["Dimensions"][0]["Value"]["Ref"]
        for m in alarms["JobErrorsAlarm"]["Metrics"]
        if "MetricStat" in m
    }
    assert job_errors == set(functions(template)) - set(HTTP_FUNCTIONS) - set(QUEUE_WORKERS)
    assert alarms["ReconcileMismatchAlarm"]["TreatMissingData"] == "breaching"  # a reconcile that stops running


def test_on_lambda_the_api_traces_every_aws_call_and_the_authorizer_loads_no_tracing_sdk(template, bundle):
    lambda_env = {"LAMBDA_TASK_ROOT": str(bundle)}
    api = functions(template)["APIHandler"]
    code = (
        f"import sys; sys.path.insert(0, {str(bundle)!r}); import app; "
        "from aws_xray_sdk.core import patcher; print(sorted(patcher._PATCHED_MODULES))"
    )
    result = subprocess.run(
        [sys.executable, "-I", "-S", "-c", code],
        cwd=bundle,
        env={"PATH": "/usr/bin:/bin", "AWS_REGION": "cn-north-1", **environment(template, api), **lambda_env},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "['botocore']"

    bearer = functions(template)["Bearer"]
    modules = json.loads(
        import_in_isolation(bundle, bearer["Handler"], {**environment(template, bearer), **lambda_env}).stdout
    )
    assert not {m for m in modules if m.startswith("aws_xray_sdk")}


def test_the_gateways_own_answers_default_to_the_stages_cors_origin(template):
    config = json.loads((ROOT / ".chalice" / "config.json").read_text(encoding="utf-8"))
    stage = functions(template)["APIHandler"]["Environment"]["Variables"]["STAGE"]

    expected = config["stages"][stage]["environment_variables"]["CORS_ALLOW_ORIGIN"]
    assert template["Parameters"]["CorsAllowOrigin"]["Default"] == expected


def test_the_sms_worker_reads_its_encrypted_queue_in_batches_reporting_each_failure(template):
    resources = template["Resources"]
    data_key = {"Fn::ImportValue": {"Fn::Sub": "member-points-data-${Stage}-DataKeyArn"}}
    worker = functions(template)["SmsWorker"]
    [event] = worker["Events"].values()

    assert event["Type"] == "SQS"
    assert event["Properties"]["Queue"] == {"Fn::GetAtt": ["SmsQueue", "Arn"]}
    assert event["Properties"]["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    queue = resources["SmsQueue"]["Properties"]
    dead_letters = resources["SmsDeadLetters"]["Properties"]
    assert queue["KmsMasterKeyId"] == dead_letters["KmsMasterKeyId"] == data_key
    redrive = {"deadLetterTargetArn": {"Fn::GetAtt": ["SmsDeadLetters", "Arn"]}, "maxReceiveCount": 3}
    assert queue["RedrivePolicy"] == redrive
    # a batch of provider calls fits the timeout, and a retry comes within the code's 5 minutes
    assert worker["Timeout"] <= queue["VisibilityTimeout"] and 3 * queue["VisibilityTimeout"] < 300
    assert event["Properties"]["BatchSize"] * 5 < worker["Timeout"]
    assert template["Globals"]["Function"]["Environment"]["Variables"]["SMS_QUEUE_URL"] == {"Ref": "SmsQueue"}


def test_only_the_api_queues_codes_and_only_the_worker_reads_them_and_the_providers_secret(template):
    queue = {"Fn::GetAtt": ["SmsQueue", "Arn"]}
    sms_secret = {"Fn::ImportValue": {"Fn::Sub": "member-points-data-${Stage}-SmsCredentialsArn"}}
    for name in functions(template):
        statements = _statements(template, name)
        on_queue = sorted(a for s in statements if s["Resource"] == queue for a in s["Action"])
        granted = [s["Resource"] if isinstance(s["Resource"], list) else [s["Resource"]] for s in statements]
        reads_secret = any(sms_secret in resources for resources in granted)
        if name == "APIHandler":
            assert on_queue == ["sqs:SendMessage"] and not reads_secret
            assert "sqs:ReceiveMessage" not in _actions(template, name)
        elif name == "SmsWorker":
            assert on_queue == ["sqs:DeleteMessage", "sqs:GetQueueAttributes", "sqs:ReceiveMessage"] and reads_secret
            assert "sqs:SendMessage" not in _actions(template, name)
        else:
            assert on_queue == [] and not reads_secret, name


def test_the_job_worker_reads_its_encrypted_queue_in_batches_reporting_each_failure_at_most_100_at_once(template):
    resources = template["Resources"]
    data_key = {"Fn::ImportValue": {"Fn::Sub": "member-points-data-${Stage}-DataKeyArn"}}
    worker = functions(template)["JobWorker"]
    [event] = worker["Events"].values()
    assert event["Type"] == "SQS"
    assert event["Properties"]["Queue"] == {"Fn::GetAtt": ["JobsQueue", "Arn"]}
    assert event["Properties"]["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert event["Properties"]["ScalingConfig"] == {"MaximumConcurrency": 100}
    queue = resources["JobsQueue"]["Properties"]
    dead_letters = resources["JobsDeadLetters"]["Properties"]
    assert queue["KmsMasterKeyId"] == dead_letters["KmsMasterKeyId"] == data_key
    redrive = {"deadLetterTargetArn": {"Fn::GetAtt": ["JobsDeadLetters", "Arn"]}, "maxReceiveCount": 3}
    assert queue["RedrivePolicy"] == redrive
    # Lambda refuses a mapping whose queue hides a message for less than the function may run
    assert worker["Timeout"] <= queue["VisibilityTimeout"]
    assert template["Globals"]["Function"]["Environment"]["Variables"]["JOBS_QUEUE_URL"] == {"Ref": "JobsQueue"}
    jobs_queue = {"Fn::GetAtt": ["JobsQueue", "Arn"]}
    for name in functions(template):
        on_queue = sorted(a for s in _statements(template, name) if s["Resource"] == jobs_queue for a in s["Action"])
        if name == "JobWorker":
            assert on_queue == ["sqs:DeleteMessage", "sqs:GetQueueAttributes", "sqs:ReceiveMessage", "sqs:SendMessage"]
        elif name in ("Bearer", "SmsWorker"):
            assert on_queue == [], name
        else:  # the API and the schedules start runs
            assert on_queue == ["sqs:SendMessage"], name
    dead = resources["JobDeadLettersWaiting"]["Properties"]
    assert dead["Dimensions"] == [{"Name": "QueueName", "Value": {"Fn::GetAtt": ["JobsDeadLetters", "QueueName"]}}]
    delayed = resources["JobsQueueDelayed"]["Properties"]
    assert delayed["Dimensions"] == [{"Name": "QueueName", "Value": {"Fn::GetAtt": ["JobsQueue", "QueueName"]}}]


def test_the_dead_letters_and_a_waiting_code_alarm_ops(template):
    resources = template["Resources"]
    dead = resources["SmsDeadLettersWaiting"]["Properties"]
    delayed = resources["SmsQueueDelayed"]["Properties"]

    assert (dead["MetricName"], dead["Dimensions"]) == (
        "ApproximateNumberOfMessagesVisible",
        [{"Name": "QueueName", "Value": {"Fn::GetAtt": ["SmsDeadLetters", "QueueName"]}}],
    )
    assert (delayed["MetricName"], delayed["Dimensions"]) == (
        "ApproximateAgeOfOldestMessage",
        [{"Name": "QueueName", "Value": {"Fn::GetAtt": ["SmsQueue", "QueueName"]}}],
    )
    assert delayed["Threshold"] < 300  # before the waiting codes expire
