"""Member, points and aibi wallet backend.

Layers: ``domain`` (pure rules and arithmetic, no AWS), ``service_layer`` (use cases),
``adapters`` (DynamoDB, KMS, SNS, Secrets Manager), ``entrypoints`` (Chalice routes and
scheduled handlers). Importing this package imports nothing else, so that the offline
tools (``python -m chalicelib.settlement``) start without AWS libraries.
"""
