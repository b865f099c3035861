"""Entry points: Chalice blueprints for HTTP and schedules; they parse, authorise, call one service and render.

Every Lambda handler lives in this package, so importing it checks the stage first: a
function with a missing or unknown ``STAGE`` fails at its cold start instead of serving
with the wrong adapters (and ``chalice package`` fails without one).
"""

from ..config import stage_from_env

stage_from_env()
