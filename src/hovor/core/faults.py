"""Named crash points for kill tests: ``HOVOR_FAULT_POINT=name`` makes the process die there, and
``HOVOR_FAULT_POINT=name@N`` the N-th time it passes there.

Only honoured when ``HOVOR_ENVIRONMENT=test``; production ignores it.
"""

from __future__ import annotations

import os
from collections import Counter

_passed: Counter[str] = Counter()


def point(name: str) -> None:
    if os.environ.get("HOVOR_ENVIRONMENT") != "test":
        return
    wanted = os.environ.get("HOVOR_FAULT_POINT")
    if not wanted:
        return
    target, _, nth = wanted.partition("@")
    if target != name:
        return
    _passed[name] += 1
    if _passed[name] >= int(nth or 1):
        os._exit(137)
