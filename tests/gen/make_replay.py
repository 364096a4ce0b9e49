#!/usr/bin/python3
"""make_replay.py — token_replay cases (issue 5). Called by make_captures.main()."""


def make_all():
    pass
