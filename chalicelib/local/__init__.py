"""The local stage: embedded moto AWS, the table created from infra/template.yaml, dev-only seeds."""
