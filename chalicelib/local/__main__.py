"""``make dev``: serve the API on http://127.0.0.1:$PORT over the embedded local stage."""

from __future__ import annotations

import os
import sys

from . import queues, stage


def main() -> int:
    stage.local_environment()
    port = int(os.environ.get("PORT", "8000"))
    _, container = stage.start()
    queues.current().start()  # Lambda's pollers: a queued SMS reaches the outbox within a moment
    from app import app

    from .gateway import local_server

    settings = container.settings
    server = local_server(app, "127.0.0.1", port)
    print(
        f"member-points local stage on http://127.0.0.1:{port}  (in-memory DynamoDB; data is lost on exit)\n"
        f"  staff admin: phone {settings.local_admin_phone}, TOTP secret {settings.local_admin_totp_secret}\n"
        f"  signed requests: key id {settings.local_integration_key_id}, secret {settings.local_integration_secret}"
        f" (every scope); key id {settings.local_game_key_id}, secret {settings.local_game_secret}"
        " (events:challenge.won only)\n"
        f"  SMS outbox: GET /v1/dev/sms?phone=<E.164>   OpenAPI: GET /v1/openapi.json\n"
        f"  API reference: http://127.0.0.1:{port}/v1/docs",
        flush=True,
    )
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        server.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
