#!/usr/bin/env python3
"""make_api_seeds.py - writes the seed corpus of tests/fuzz_api.c into tests/fuzz/api.

Each seed is a short program in fuzz_api's byte code: an operation byte
(its value mod 18) followed by its argument bytes. Rerun after changing the
op codes:  python3 tests/fuzz/make_api_seeds.py
"""
import os

REG, MOD, UNREG, FEED, DRAIN, PUSH, PULL, CLOSE, REPLACE, DUP2 = 0, 2, 3, 4, 5, 6, 7, 8, 9, 10
TADD, TCANCEL, POST, RUN, SELECT, MISC = 11, 12, 13, 14, 16, 17
R, W, E, O = 1, 2, 4, 8
NOVICTIM = 255

seeds = {
    # register, data in and out, level-triggered
    "level": [REG, 0, R | W, FEED, 0, RUN, NOVICTIM, DRAIN, 0, RUN, NOVICTIM,
              REG, 1, R, FEED, 1, SELECT, 7, UNREG, 0, RUN, NOVICTIM],
    # ONESHOT fired, closed, re-armed; EDGE
    "oneshot": [REG, 3, R | W | O, RUN, NOVICTIM, REPLACE, 3, 0, RUN, NOVICTIM,
                REG, 6, R | E, FEED, 6, RUN, NOVICTIM, MOD, 6, R | O, RUN, NOVICTIM],
    # closed and dup2'ed fds while registered, closed numbers, bad arguments
    "closed": [REG, 0, R, REG, 2, W, CLOSE, 0, 0, DUP2, 1, 2, RUN, NOVICTIM,
               MISC, 0, 5, REG, 0, 31, MOD, 4, 16, UNREG, 0, RUN, NOVICTIM],
    # timers, posts, and a callback unregistering another fd
    "services": [TADD, 0, 0, TADD, 2, 3, POST, TCANCEL, 1, TCANCEL, 1, TCANCEL, 200,
                 REG, 0, W, REG, 3, W, RUN, 4, RUN, NOVICTIM, MISC, 1, 0],
}

here = os.path.join(os.path.dirname(os.path.abspath(__file__)), "api")
os.makedirs(here, exist_ok=True)
for name, ops in seeds.items():
    with open(os.path.join(here, name), "wb") as f:
        f.write(bytes(ops))
