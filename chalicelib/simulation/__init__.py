"""Settlement simulation: generated member populations run through the real settlement engine."""
