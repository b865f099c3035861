"""Reads the one table definition (``infra/template.yaml``) and creates that table.

The local stage and the test suite call ``create_table`` so that their in-memory table
has exactly the keys, indexes, TTL, recovery and encryption settings production has.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import yaml

TEMPLATE = Path(__file__).resolve().parents[2] / "infra" / "template.yaml"
TABLE_RESOURCE = "MembersTable"


@functools.cache
def load_template(path: Path = TEMPLATE) -> dict[str, Any]:
    """The parsed template, read once per process (every test stack creates the table from it)."""
    with path.open(encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def table_properties(template: dict[str, Any] | None = None) -> dict[str, Any]:
    template = template or load_template()
    return template["Resources"][TABLE_RESOURCE]["Properties"]


def create_table_kwargs(table_name: str, kms_key_id: str, template: dict[str, Any] | None = None) -> dict[str, Any]:
    """The CloudFormation properties as ``CreateTable`` arguments (intrinsics resolved)."""
    props = table_properties(template)
    sse = props["SSESpecification"]
    return {
        "TableName": table_name,
        "BillingMode": props["BillingMode"],
        "AttributeDefinitions": props["AttributeDefinitions"],
        "KeySchema": props["KeySchema"],
        "GlobalSecondaryIndexes": props["GlobalSecondaryIndexes"],
        "SSESpecification": {"Enabled": sse["SSEEnabled"], "SSEType": sse["SSEType"], "KMSMasterKeyId": kms_key_id},
        "DeletionProtectionEnabled": props["DeletionProtectionEnabled"],
    }


def create_table(dynamodb_client: Any, table_name: str, kms_key_id: str) -> None:
    props = table_properties()
    dynamodb_client.create_table(**create_table_kwargs(table_name, kms_key_id))
    ttl = props["TimeToLiveSpecification"]
    dynamodb_client.update_time_to_live(
        TableName=table_name,
        TimeToLiveSpecification={"AttributeName": ttl["AttributeName"], "Enabled": ttl["Enabled"]},
    )
    pitr = props["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"]
    dynamodb_client.update_continuous_backups(
        TableName=table_name,
        PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": pitr},
    )
