"""A job is one long piece of work (an erasure, later sweeps and exports) with its steps and state.

Its parameters and progress hold record keys and counts only, never personal data: a job row
outlives the person it erased.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from hovor.core.db import Base, JSONType, UTCDateTime, utcnow
from hovor.core.personal_data import Category, Erasure, Owner, not_personal, personal

QUEUED, RUNNING, DONE, FAILED = "queued", "running", "done", "failed"


class Job(Base):
    __tablename__ = "jobs"
    # The worker's claim: the oldest runnable job first.
    __table_args__ = (
        Index("ix_jobs_state_run_after", "state", "run_after"),
        Index("ix_jobs_tenant_kind_target", "tenant_id", "kind", "target"),
    )

    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"), primary_key=True, info=not_personal())
    name: Mapped[str] = mapped_column(String(64), primary_key=True, info=not_personal())
    kind: Mapped[str] = mapped_column(String(32), info=not_personal("erasure | ..."))
    target: Mapped[str | None] = mapped_column(
        String(64), info=not_personal("the key of the record the job is about")
    )
    params: Mapped[dict[str, Any]] = mapped_column(
        JSONType, default=dict, info=not_personal("record keys only")
    )
    state: Mapped[str] = mapped_column(String(16), default=QUEUED, info=not_personal())
    step: Mapped[str | None] = mapped_column(String(32), info=not_personal("the step being run or next"))
    progress: Mapped[dict[str, Any]] = mapped_column(
        JSONType, default=dict, info=not_personal("counts per step")
    )
    result: Mapped[dict[str, Any] | None] = mapped_column(
        JSONType, info=not_personal("e.g. a signed certificate")
    )
    attempts: Mapped[int] = mapped_column(Integer, default=0, info=not_personal())
    max_attempts: Mapped[int] = mapped_column(Integer, default=8, info=not_personal())
    run_after: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, info=not_personal())
    claimed_by: Mapped[str | None] = mapped_column(
        String(128), info=not_personal("worker id: host and process")
    )
    heartbeat: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, info=not_personal())
    error: Mapped[str | None] = mapped_column(
        String(255), info=not_personal("the error's type, no message text")
    )
    created: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, info=not_personal())
    created_by: Mapped[str | None] = mapped_column(
        String(64), info=personal(Category.LOGIN, Owner.OPERATOR, Erasure.KEEP, "who asked for the work")
    )
    started: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, info=not_personal())
    finished: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, info=not_personal())
