#!/usr/bin/python3
"""make_verdict.py — verdict-engine cases (issue 5): x5t#S256, nested JWT, b64:false, keyset audiences/types. Called by make_captures.main()."""


def make_all():
    pass
