"""Entry points: Chalice blueprints for HTTP and schedules; they parse, authorise, call one service and render."""
