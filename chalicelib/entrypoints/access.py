"""Who may call a route, and the access table the authorizer reads.

Routes declare their access once, in ``http.endpoint``. The authorizer runs in its own
Lambda function, which imports this module and not the routes (they bring pydantic, the
services and every model): it reads the access of every bearer route from
``route_access.json``, written from the declarations by ``make routes``. A test keeps the
file equal to the declarations, so a new route cannot ship without its policy.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from ..adapters.tokens import Principal

TABLE = Path(__file__).with_name("route_access.json")


@dataclass(frozen=True)
class Access:
    """Who may call a route: nobody in particular, members, staff with one of ``roles``,
    or trusted systems signing their requests."""

    kind: str
    roles: frozenset[str] = frozenset()

    @property
    def needs_bearer(self) -> bool:
        return self.kind in ("member", "staff")

    def allows(self, principal: Principal | None) -> bool:
        if not self.needs_bearer:
            return True
        if principal is None or principal.kind != self.kind:
            return False
        return not self.roles or bool(self.roles & principal.roles)


PUBLIC = Access("public")
MEMBER = Access("member")
SIGNED = Access("signed")
LOCAL_ONLY = Access("local")


def staff(*roles: str) -> Access:
    return Access("staff", frozenset(roles))


@dataclass(frozen=True)
class RouteAccess:
    path: str
    method: str
    access: Access


def as_rows(routes: list[RouteAccess]) -> list[dict[str, object]]:
    """The table's JSON rows: bearer routes only, in a stable order."""
    rows = [
        {"path": r.path, "method": r.method, "kind": r.access.kind, "roles": sorted(r.access.roles)}
        for r in routes
        if r.access.needs_bearer
    ]
    return sorted(rows, key=lambda row: (str(row["path"]), str(row["method"])))


def render(rows: list[dict[str, object]]) -> str:
    """One route a line, so a change of access reads as a one-line diff."""
    return "[\n" + ",\n".join(json.dumps(row) for row in rows) + "\n]\n"


@cache
def bearer_routes() -> tuple[RouteAccess, ...]:
    rows = json.loads(TABLE.read_text(encoding="utf-8"))
    return tuple(RouteAccess(row["path"], row["method"], Access(row["kind"], frozenset(row["roles"]))) for row in rows)


def main() -> None:
    """``make routes``: write the table from the route declarations."""
    from app import app  # noqa: F401  (importing the app declares every route)

    from .http import ROUTES

    declared = as_rows([RouteAccess(spec.path, spec.method, spec.access) for spec in ROUTES])
    TABLE.write_text(render(declared), encoding="utf-8")
    print(f"{TABLE}: {len(declared)} bearer routes")


if __name__ == "__main__":
    main()
