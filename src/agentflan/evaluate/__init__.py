"""Evaluation: reply parsing and strict classification, open Agent-H, BFCL scoring, model backends."""
