"""Named crash points for kill tests: ``HOVOR_FAULT_POINT=name`` makes the process die there.

Only honoured when ``HOVOR_ENVIRONMENT=test``; production ignores it.
"""

from __future__ import annotations

import os


def point(name: str) -> None:
    if os.environ.get("HOVOR_ENVIRONMENT") == "test" and os.environ.get("HOVOR_FAULT_POINT") == name:
        os._exit(137)
