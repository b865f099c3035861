"""Pure domain core: rules, ledger and lot arithmetic, settlement engine. Imports no AWS code."""
