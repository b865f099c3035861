"""Signed routes declare their scopes, and the local stage's two keys have theirs. (That a
secret is read again while a Lambda is warm: tests/integration/test_secrets.py.)"""

from __future__ import annotations

import app  # noqa: F401  (registers every route, filling ROUTES)
from chalicelib.entrypoints.http import ROUTES
from chalicelib.entrypoints.signed_events import SIGNED_EVENTS


def test_every_signed_route_but_the_events_one_declares_its_scope():
    signed = [spec for spec in ROUTES if spec.access.kind == "signed"]
    assert {spec.path for spec in signed if spec.access.scope is None} == {"/v1/events"}
    scopes = [spec.access.scope for spec in signed if spec.access.scope is not None]
    assert len(scopes) == len(set(scopes)) == 4


def test_the_local_shop_key_may_do_everything_and_the_game_key_only_report_wins(stack):
    keys = stack.integration_keys()
    shop, game = keys[stack.settings.local_integration_key_id], keys[stack.settings.local_game_key_id]
    route_scopes = {spec.access.scope for spec in ROUTES if spec.access.kind == "signed" and spec.access.scope}
    event_scopes = {declared.scope for declared in SIGNED_EVENTS}
    assert all(shop.allows(scope) for scope in route_scopes | event_scopes)
    assert {scope for scope in route_scopes | event_scopes if game.allows(scope)} == {"events:challenge.won"}
