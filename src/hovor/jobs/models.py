"""A job is one long piece of work (an erasure, later sweeps and exports) with its steps and state.

Its parameters and progress hold record keys and counts only, never personal data: a job row
outlives the person it erased.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from hovor.db import Base, JSONType, UTCDateTime, utcnow
from hovor.privacy.registry import Category, Erasure, Owner, op, pd

QUEUED, RUNNING, DONE, FAILED = "queued", "running", "done", "failed"


class Job(Base):
    __tablename__ = "jobs"
    # The worker's claim: the oldest runnable job first.
    __table_args__ = (
        Index("ix_jobs_state_run_after", "state", "run_after"),
        Index("ix_jobs_tenant_kind_target", "tenant_id", "kind", "target"),
    )

    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"), primary_key=True, info=op())
    name: Mapped[str] = mapped_column(String(64), primary_key=True, info=op())
    kind: Mapped[str] = mapped_column(String(32), info=op("erasure | ..."))
    target: Mapped[str | None] = mapped_column(String(64), info=op("the key of the record the job is about"))
    params: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict, info=op("record keys only"))
    state: Mapped[str] = mapped_column(String(16), default=QUEUED, info=op())
    step: Mapped[str | None] = mapped_column(String(32), info=op("the step being run or next"))
    progress: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict, info=op("counts per step"))
    result: Mapped[dict[str, Any] | None] = mapped_column(JSONType, info=op("e.g. a signed certificate"))
    attempts: Mapped[int] = mapped_column(Integer, default=0, info=op())
    max_attempts: Mapped[int] = mapped_column(Integer, default=8, info=op())
    run_after: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, info=op())
    claimed_by: Mapped[str | None] = mapped_column(String(128), info=op("worker id: host and process"))
    heartbeat: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, info=op())
    error: Mapped[str | None] = mapped_column(String(255), info=op("the error's type, no message text"))
    created: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, info=op())
    created_by: Mapped[str | None] = mapped_column(
        String(64), info=pd(Category.LOGIN, Owner.OPERATOR, Erasure.KEEP, "who asked for the work")
    )
    started: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, info=op())
    finished: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, info=op())
