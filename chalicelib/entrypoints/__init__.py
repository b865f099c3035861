"""Entry points: Chalice blueprints for HTTP and schedules; they parse, authorise, call one service and render.

Every Lambda handler lives in this package, so importing it checks the deployment's
configuration first: a function with a missing or unknown ``STAGE``, or a deployed stage
missing a resource name, fails at its cold start instead of serving with wrong adapters.
"""

from ..config import Settings

Settings.from_env()
