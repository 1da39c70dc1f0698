"""Helpers for the tests and bench.py, outside the runtime package: the app never imports these."""
