"""The purge job: every row of the tenant deleted, its key destroyed, its objects reaped, the
database's files compacted, and a signed deletion certificate left outside the tenant.

Steps, each idempotent, in the order that never leaves anything readable behind a kill:

``keys``     the tenant's keys and every blob's data key destroyed in one transaction: from its
             commit no copy of any object of the tenant (store versions, replicas, backups) can be
             decrypted;
``rows``     every table that has a ``tenant_id``, in reverse dependency order of the metadata,
             one transaction per table, counted per table (the counts commit with their deletes);
             the tenant's own row keeps only what is not personal (its DPO's contact goes now);
             what must outlive this step (the blob rows the reaper needs, the keys' rows, this
             job's row and the tenant's row) is left to the next steps;
``reap``     the objects deleted from the store, then the blob rows;
``compact``  SQLite: the WAL truncated (``secure_delete`` has zeroed the freed pages); PostgreSQL:
             VACUUM FULL of every table the purge touched;
``finish``   the certificate signed and kept on the ``contract_ends`` row, an entry in the
             platform's audit log, and the last rows (keys, this job, the tenant) deleted in one
             transaction; then the WAL truncated (or those small tables rewritten) once more.
             The job row is gone with its tenant: the step ends the job (``jobs.Finished``).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, func, select, update

from hovor.audit import log as audit
from hovor.audit.keys import key_id
from hovor.core.db import Base, unit_of_work, utcnow
from hovor.core.personal_data import Owner, classification
from hovor.files.models import Blob, TenantKey
from hovor.jobs import service as jobs
from hovor.jobs.models import Job
from hovor.privacy import compaction
from hovor.privacy.contract.models import PURGED, ContractEnd
from hovor.privacy.contract.signing import sign
from hovor.tenancy.models import Tenant

KIND = "tenant-purge"
CERTIFICATE = "hovor.deletion-certificate/1"
# Deleted by the later steps, not by ``rows``.
LAST = ("tenants", "tenant_keys", "blobs", "jobs")


def actor_of(run: jobs.Run) -> audit.Actor:
    return audit.Actor("system", f"job:{run.name}")


def tables() -> list[Any]:
    """The tenant's tables, children before their parents."""
    return [
        t for t in reversed(Base.metadata.sorted_tables) if "tenant_id" in t.c and t.name != "contract_ends"
    ]


def step_keys(run: jobs.Run) -> None:
    with unit_of_work(run.env.factory) as session:
        blobs = session.scalar(select(func.count()).select_from(Blob).where(Blob.tenant_id == run.tenant_id))
        keys = session.scalar(
            select(func.count()).select_from(TenantKey).where(TenantKey.tenant_id == run.tenant_id)
        )
        now = utcnow()
        session.execute(
            update(TenantKey)
            .where(TenantKey.tenant_id == run.tenant_id)
            .values(wrapped=None, destroyed=func.coalesce(TenantKey.destroyed, now))
        )
        session.execute(
            update(Blob)
            .where(Blob.tenant_id == run.tenant_id)
            .values(wrapped_key=None, destroyed=func.coalesce(Blob.destroyed, now))
        )
        run.beat(session, {"blobsShredded": blobs, "tenantKeysDestroyed": keys})


def step_rows(run: jobs.Run) -> None:
    with unit_of_work(run.env.factory) as session:
        # The DPO's contact on the tenant's row is personal; the row itself goes last.
        personal = {
            c.key: None
            for c in Base.metadata.tables["tenants"].columns
            if (kind := classification(c)) is not None and kind.owner is not Owner.NONE
        }
        if personal:
            session.execute(update(Tenant).where(Tenant.id == run.tenant_id).values(**personal))
        run.beat(session)
    for table in tables():
        if table.name in LAST:
            continue
        with unit_of_work(run.env.factory) as session:
            result = session.execute(delete(table).where(table.c.tenant_id == run.tenant_id))
            run.beat(session, deleted={table.name: int(getattr(result, "rowcount", 0) or 0)})
    with unit_of_work(run.env.factory) as session:
        # Every other job of the tenant (this one stays until ``finish``).
        result = session.execute(delete(Job).where(Job.tenant_id == run.tenant_id, Job.name != run.name))
        run.beat(session, deleted={"jobs": int(getattr(result, "rowcount", 0) or 0)})


def step_reap(run: jobs.Run) -> None:
    while run.env.files.reap(run.env.factory, 1000):
        with unit_of_work(run.env.factory) as session:
            run.beat(session)
    with run.env.factory() as session:
        left = session.scalar(select(func.count()).select_from(Blob).where(Blob.tenant_id == run.tenant_id))
    if left:
        raise RuntimeError("objects of the tenant could not be deleted yet; the job retries")


def _compact(run: jobs.Run, names: list[str]) -> None:
    if run.env.engine.dialect.name == "postgresql":
        compaction.vacuum(run.env.engine, names)
    else:
        compaction.compact_sqlite(run.env.engine)


def step_compact(run: jobs.Run) -> None:
    _compact(run, [t.name for t in tables()] + ["tenants"])


def certificate_of(run: jobs.Run, end: ContractEnd, job: Job) -> dict[str, Any]:
    progress = dict(job.progress or {})
    deleted = dict(progress.get("deleted") or {})
    deleted.update({"tenant_keys": progress.get("tenantKeysDestroyed", 0), "tenants": 1})
    deleted["jobs"] = deleted.get("jobs", 0) + 1  # this job's row, deleted with the tenant
    deleted["blobs"] = progress.get("blobsShredded", 0)
    return {
        "type": CERTIFICATE,
        "tenant": run.tenant_id,
        "job": run.name,
        "export": {
            "job": end.export_job,
            "sha256": end.package_sha256,
            "size": end.package_size,
            "finished": audit.stamp(end.exported) if end.exported else None,
        },
        "startedBy": end.started_by,
        "received": audit.stamp(end.received) if end.received else None,
        "receivedBy": end.received_by,
        "approvedBy": end.approved_by,
        "requested": audit.stamp(job.created),
        "finished": audit.stamp(utcnow()),
        "rowsDeleted": dict(sorted((k, v) for k, v in deleted.items() if v)),
        "blobsShredded": progress.get("blobsShredded", 0),
        "tenantKeysDestroyed": progress.get("tenantKeysDestroyed", 0),
        "compaction": "VACUUM FULL" if run.env.engine.dialect.name == "postgresql" else "WAL truncated",
    }


def step_finish(run: jobs.Run) -> None:
    with unit_of_work(run.env.factory) as session:
        end = session.get(ContractEnd, run.tenant_id, with_for_update=True)
        job = session.get(Job, (run.tenant_id, run.name))
        if end is None or job is None:
            raise jobs.Finished()
        if end.certificate is None:
            end.certificate = sign(run.env.signer, "certificate", certificate_of(run, end, job))
        end.state, end.purged = PURGED, utcnow()
        details = {
            "job": run.name,
            "rows": sum(end.certificate["certificate"]["rowsDeleted"].values()),
            "keyId": key_id(run.env.signer.public_key()),
        }
        audit.record(
            session,
            audit.PLATFORM,
            "platform.contract.purged",
            actor_of(run),
            "tenants",
            run.tenant_id,
            details,
        )
        session.execute(delete(TenantKey).where(TenantKey.tenant_id == run.tenant_id))
        session.execute(delete(Job).where(Job.tenant_id == run.tenant_id))
        session.execute(delete(Tenant).where(Tenant.id == run.tenant_id))
    _compact(run, ["tenant_keys", "jobs", "tenants"])
    raise jobs.Finished()


def on_failure(run: jobs.Run) -> None:
    with unit_of_work(run.env.factory) as session:
        audit.record(
            session,
            audit.PLATFORM,
            "platform.contract.failed",
            actor_of(run),
            "tenants",
            run.tenant_id,
            {"job": run.name},
        )


STEPS: list[jobs.Step] = [
    ("keys", step_keys),
    ("rows", step_rows),
    ("reap", step_reap),
    ("compact", step_compact),
    ("finish", step_finish),
]
jobs.register(KIND, STEPS, on_failure)
