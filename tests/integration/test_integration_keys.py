"""The integration-keys secret as the stage reads it: refreshed while a Lambda is warm
(so a rotation takes effect), and the local stage's two keys with their scopes."""

from __future__ import annotations

import boto3

import app  # noqa: F401  (registers every route, filling ROUTES)
from chalicelib.adapters.crypto import SecretsManagerSource
from chalicelib.entrypoints.http import ROUTES
from chalicelib.service_layer.events import HANDLERS


def test_a_secret_is_read_again_once_its_copy_is_max_age_old(stack):
    secrets_manager = boto3.client("secretsmanager", region_name=stack.settings.region)
    secrets_manager.create_secret(Name="test/rotating", SecretString='{"version": 1}')
    now = [1_000.0]
    source = SecretsManagerSource(secrets_manager, max_age_s=300, monotonic=lambda: now[0])
    assert source.get_json("test/rotating") == {"version": 1}

    secrets_manager.put_secret_value(SecretId="test/rotating", SecretString='{"version": 2}')
    now[0] += 299
    assert source.get_json("test/rotating") == {"version": 1}  # the copy is still fresh
    now[0] += 1
    assert source.get_json("test/rotating") == {"version": 2}


def test_every_signed_route_but_the_events_one_declares_its_scope():
    signed = [spec for spec in ROUTES if spec.access.kind == "signed"]
    assert {spec.path for spec in signed if spec.access.scope is None} == {"/v1/events"}
    scopes = [spec.access.scope for spec in signed if spec.access.scope is not None]
    assert len(scopes) == len(set(scopes)) == 4


def test_the_local_shop_key_may_do_everything_and_the_game_key_only_report_wins(stack):
    keys = stack.integration_keys()
    shop, game = keys[stack.settings.local_integration_key_id], keys[stack.settings.local_game_key_id]
    route_scopes = {spec.access.scope for spec in ROUTES if spec.access.kind == "signed" and spec.access.scope}
    event_scopes = {f"events:{event_type}" for event_type in HANDLERS}
    assert all(shop.allows(scope) for scope in route_scopes | event_scopes)
    assert {scope for scope in route_scopes | event_scopes if game.allows(scope)} == {"events:challenge.won"}
