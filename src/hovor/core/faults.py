"""Named crash points for kill tests: ``HOVOR_FAULT_POINT=name`` makes the process die there, and
``HOVOR_FAULT_POINT=name@N`` the N-th time it passes there.

Armed only in a process started with ``HOVOR_ENVIRONMENT=test``: anywhere else :func:`point` is a
function that does nothing, chosen once at import, so production never reads the variable.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Callable

_passed: Counter[str] = Counter()


def _disarmed(name: str) -> None:
    """Outside the test environment a fault point is nothing."""


def _armed(name: str) -> None:
    wanted = os.environ.get("HOVOR_FAULT_POINT")
    if not wanted:
        return
    target, _, nth = wanted.partition("@")
    if target != name:
        return
    _passed[name] += 1
    if _passed[name] >= int(nth or 1):
        os._exit(137)


point: Callable[[str], None] = _armed if os.environ.get("HOVOR_ENVIRONMENT") == "test" else _disarmed
