"""Use cases: plain values in, plain values out, storage through the unit of work."""
