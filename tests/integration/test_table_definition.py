"""The one table definition (infra/template.yaml) against the PynamoDB models, and the
table the local stage creates from it."""

from __future__ import annotations

import importlib
import pkgutil

import boto3
import pytest
from pynamodb.attributes import BinaryAttribute, NumberAttribute, UnicodeAttribute
from pynamodb.indexes import AllProjection

import chalicelib.adapters.dynamodb as dynamodb_package
from chalicelib.adapters.dynamodb.base import BaseItem
from chalicelib.local import schema

for module in pkgutil.iter_modules(dynamodb_package.__path__):
    importlib.import_module(f"{dynamodb_package.__name__}.{module.name}")

DYNAMO_TYPE = {UnicodeAttribute: "S", NumberAttribute: "N", BinaryAttribute: "B"}


def all_models() -> list[type[BaseItem]]:
    found, stack = [], [BaseItem]
    while stack:
        for sub in stack.pop().__subclasses__():
            found.append(sub)
            stack.append(sub)
    return found


MODELS = all_models()
PROPS = schema.table_properties()
DEFINED = {d["AttributeName"]: d["AttributeType"] for d in PROPS["AttributeDefinitions"]}
TEMPLATE_KEYS = {k["KeyType"]: k["AttributeName"] for k in PROPS["KeySchema"]}
TEMPLATE_GSIS = {
    g["IndexName"]: ({k["KeyType"]: k["AttributeName"] for k in g["KeySchema"]}, g["Projection"]["ProjectionType"])
    for g in PROPS["GlobalSecondaryIndexes"]
}


def dynamo_type(attribute) -> str:
    return next(code for cls, code in DYNAMO_TYPE.items() if isinstance(attribute, cls))


def test_every_model_of_every_area_is_checked():
    names = {model.__name__ for model in MODELS}
    assert {"MemberItem", "OtpItem", "SessionItem", "StaffItem", "ReviewItem", "AuditItem", "WalletItem"} <= names


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m.__name__)
def test_the_models_keys_are_the_tables_keys(model):
    attributes = model.get_attributes()
    hash_key, range_key = model._hash_keyname, model._range_keyname
    assert {"HASH": hash_key, "RANGE": range_key} == TEMPLATE_KEYS
    for name in (hash_key, range_key):
        assert DEFINED[name] == dynamo_type(attributes[name])


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m.__name__)
def test_the_models_indexes_exist_in_the_template_with_the_same_keys(model):
    for index in model._indexes.values():
        name = index.Meta.index_name
        assert name in TEMPLATE_GSIS, f"{model.__name__} declares {name}, which the table does not have"
        keys = {
            ("HASH" if attribute.is_hash_key else "RANGE"): attribute.attr_name
            for attribute in index.Meta.attributes.values()
            if attribute.is_hash_key or attribute.is_range_key
        }
        template_keys, projection = TEMPLATE_GSIS[name]
        assert keys == template_keys
        assert isinstance(index.Meta.projection, AllProjection) and projection == "ALL"
        for attribute in index.Meta.attributes.values():
            assert DEFINED[attribute.attr_name] == dynamo_type(attribute)
            # the model carries the index keys as (nullable) attributes of its own, so the index stays sparse
            assert model.get_attributes()[attribute.attr_name].null


def test_the_models_point_at_the_stage_table(stack):
    assert BaseItem.Meta.table_name == stack.settings.table_name
    assert all(model.Meta.table_name == stack.settings.table_name for model in MODELS)


def test_the_created_table_has_the_templates_keys_ttl_recovery_and_kms_encryption(stack):
    client = boto3.client("dynamodb", region_name=stack.settings.region)
    table = client.describe_table(TableName=stack.settings.table_name)["Table"]
    assert {k["KeyType"]: k["AttributeName"] for k in table["KeySchema"]} == TEMPLATE_KEYS
    created = {
        g["IndexName"]: ({k["KeyType"]: k["AttributeName"] for k in g["KeySchema"]}, g["Projection"]["ProjectionType"])
        for g in table["GlobalSecondaryIndexes"]
    }
    assert created == TEMPLATE_GSIS
    assert table["BillingModeSummary"]["BillingMode"] == PROPS["BillingMode"] == "PAY_PER_REQUEST"
    assert table["SSEDescription"]["Status"] == "ENABLED"
    assert table["SSEDescription"]["SSEType"] == "KMS"
    assert table["SSEDescription"]["KMSMasterKeyArn"]
    assert table.get("DeletionProtectionEnabled") is True

    ttl = client.describe_time_to_live(TableName=stack.settings.table_name)["TimeToLiveDescription"]
    assert ttl["TimeToLiveStatus"] == "ENABLED"
    assert ttl["AttributeName"] == BaseItem.ttl.attr_name == PROPS["TimeToLiveSpecification"]["AttributeName"]

    backups = client.describe_continuous_backups(TableName=stack.settings.table_name)["ContinuousBackupsDescription"]
    assert backups["PointInTimeRecoveryDescription"]["PointInTimeRecoveryStatus"] == "ENABLED"


def test_the_template_itself_asks_for_ttl_pitr_and_a_customer_managed_key():
    assert PROPS["TimeToLiveSpecification"] == {"AttributeName": "ttl", "Enabled": True}
    assert PROPS["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    sse = PROPS["SSESpecification"]
    assert sse["SSEEnabled"] is True and sse["SSEType"] == "KMS"
    assert sse["KMSMasterKeyId"] == {"Ref": "DataKey"}
    assert schema.load_template()["Resources"]["DataKey"]["Properties"]["EnableKeyRotation"] is True
