"""Kinds of record a retention policy sweeps beside the people's own: the operators' pauses, the
finished jobs, and the DPO's register — subject requests and access exports.

A closed subject request is the proof of what the controller did; the person's identifiers in it
are not needed for that. Anonymizing one (the default) keeps the kind, the dates, the states, who
verified and approved it and the jobs that carried it out, and replaces the identifiers by the
audit log's keyed pseudonyms (the same person asking again is still recognised), clearing the
contact link, the answer address and the free-text reason and outcome. An export's row says only
what was exported when; deleting it destroys its package's key if it still has one."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy.orm import Session

from hovor.activities.models import PauseTaken
from hovor.jobs.models import DONE, FAILED, Job
from hovor.privacy import deletes, erasure, holds
from hovor.privacy.erasure import PLACEHOLDER
from hovor.privacy.holds import Held
from hovor.privacy.models import SubjectExport, SubjectRequest
from hovor.privacy.sweeping import ANONYMIZE, DELETE, SweepChunk, SweptKind, at


def _pauses_where(tenant_id: str, cutoff: dt.datetime, action: str, keep: Held) -> list[Any]:
    return [PauseTaken.tenant_id == tenant_id, PauseTaken.end < at(PauseTaken.end, cutoff)]


def _apply_pauses(ctx: SweepChunk, objs: list[Any], action: str) -> dict[str, int]:
    """An operator's pauses go whole: how one spent their working day is theirs, kept no longer
    than the policy says (a tombstone each, so a restore does not bring them back)."""
    for obj in objs:
        ctx.session.delete(obj)
        deletes.tombstone(ctx.session, ctx.tenant_id, "pausesTaken", obj.name, "retention", job=ctx.job)
    ctx.session.flush()
    return {"pauses_taken": len(objs)}


# Erasure jobs keep their signed certificates: the proof that a person was erased (counts only).
KEPT_JOBS = (erasure.KIND,)


def _jobs_where(tenant_id: str, cutoff: dt.datetime, action: str, keep: Held) -> list[Any]:
    return [
        Job.tenant_id == tenant_id,
        Job.state.in_((DONE, FAILED)),
        Job.finished < at(Job.finished, cutoff),
        Job.kind.not_in(KEPT_JOBS),
    ]


def _apply_jobs(ctx: SweepChunk, objs: list[Any], action: str) -> dict[str, int]:
    for obj in objs:
        ctx.session.delete(obj)
        # Jobs carry record keys in their parameters: a restore must not bring them back either.
        deletes.tombstone(ctx.session, ctx.tenant_id, "jobs", obj.name, "retention", job=ctx.job)
    ctx.session.flush()
    return {"jobs": len(objs)}


def _requests_where(tenant_id: str, cutoff: dt.datetime, action: str, keep: Held) -> list[Any]:
    where = [
        SubjectRequest.tenant_id == tenant_id,
        SubjectRequest.closed.is_not(None),
        SubjectRequest.closed < at(SubjectRequest.closed, cutoff),
    ]
    if action == ANONYMIZE:
        where.append(SubjectRequest.anonymized.is_(False))
    return where


def _apply_requests(ctx: SweepChunk, objs: list[Any], action: str) -> dict[str, int]:
    for obj in objs:
        if action == DELETE:
            ctx.session.delete(obj)
            deletes.tombstone(
                ctx.session, ctx.tenant_id, "subjectRequests", obj.name, "retention", job=ctx.job
            )
            continue
        pseudonym = ctx.pseudonyms
        obj.identifiers = (
            {
                k: pseudonym(ctx.tenant_id, v)
                for k, v in (obj.identifiers or {}).items()
                if not v.startswith("ps_")
            }
            if pseudonym is not None
            else None
        ) or None
        obj.contact, obj.answer_to = None, None
        obj.extension_reason = PLACEHOLDER if obj.extension_reason else None
        obj.outcome = PLACEHOLDER if obj.outcome else None
        obj.anonymized = True
    ctx.session.flush()
    return {"subject_requests": len(objs)}


def _exports_where(tenant_id: str, cutoff: dt.datetime, action: str, keep: Held) -> list[Any]:
    return [SubjectExport.tenant_id == tenant_id, SubjectExport.created < at(SubjectExport.created, cutoff)]


def _apply_exports(ctx: SweepChunk, objs: list[Any], action: str) -> dict[str, int]:
    blobs = [obj.blob for obj in objs if obj.blob]
    ctx.files.destroy_keys(ctx.session, ctx.tenant_id, blobs)
    for obj in objs:
        ctx.session.delete(obj)
        deletes.tombstone(ctx.session, ctx.tenant_id, "subjectExports", obj.name, "retention", job=ctx.job)
    ctx.session.flush()
    return {"subject_exports": len(objs)}


def _none(session: Session, obj: Any) -> list[holds.Pair]:
    return []


KINDS: dict[str, SweptKind] = {
    "pausesTaken": SweptKind(
        "pausesTaken",
        "Pauses operators took (by their end)",
        (DELETE,),
        PauseTaken.name,
        PauseTaken.end,
        _pauses_where,
        _none,
        _apply_pauses,
        "pausesTaken",
    ),
    "jobs": SweptKind(
        "jobs",
        "Finished jobs (by when they finished; erasure certificates are kept)",
        (DELETE,),
        Job.name,
        Job.finished,
        _jobs_where,
        _none,
        _apply_jobs,
        "jobs",
    ),
    "subjectRequests": SweptKind(
        "subjectRequests",
        "Closed subject requests (by when they were closed; the proof stays, who asked goes)",
        (ANONYMIZE, DELETE),
        SubjectRequest.name,
        SubjectRequest.closed,
        _requests_where,
        _none,
        _apply_requests,
        "subjectRequests",
    ),
    "subjectExports": SweptKind(
        "subjectExports",
        "Access and portability exports (by when they were made; their packages expire sooner)",
        (DELETE,),
        SubjectExport.name,
        SubjectExport.created,
        _exports_where,
        _none,
        _apply_exports,
        "subjectExports",
    ),
}
