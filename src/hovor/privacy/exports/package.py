"""The export job: ``plan`` (the records, by key, stored in the job), ``package`` (the ZIP built and
sealed as an encrypted blob in one pass: read, redacted, zipped, encrypted and stored as a stream,
so no plaintext byte of it touches a disk or all of it sits in memory), then the package is filed
on its export row in the same transaction that marks it ready.

A job killed in ``package`` is taken over and builds the package again from its first byte: what
the killed run had stored is an object whose key was never committed, unreadable, which the
store's reaper removes (docs/privacy.md). ``plan`` is kept, so the package holds what was planned.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

import orjson
from sqlalchemy import select
from sqlalchemy.orm import Session

from hovor.audit import log as audit
from hovor.auth.models import User
from hovor.auth.service import system_caller
from hovor.core.db import unit_of_work, utcnow
from hovor.files.models import Blob
from hovor.files.service import new_store_key
from hovor.jobs import service as jobs
from hovor.privacy.erasure.identity import identity
from hovor.privacy.erasure.plan import in_chunks, make_plan, plan_of
from hovor.privacy.exports import others, records, report
from hovor.privacy.exports.zipstream import EXTENSIONS, Entry, Zipped, eml, safe_name
from hovor.privacy.models import RetentionPolicy, SubjectExport, SubjectRequest
from hovor.tenancy.models import Tenant

KIND = "export"


def actor_of(run: jobs.Run) -> audit.Actor:
    return audit.Actor("system", f"job:{run.name}", None, run.params.get("request_id"))


# --- the steps -----------------------------------------------------------------------------------
def step_plan(run: jobs.Run) -> None:
    with unit_of_work(run.env.factory) as session:
        plan = make_plan(session, run.tenant_id, run.params["contact"], run.params.get("include") or {})
        run.beat(session, {"plan": plan.as_dict(), "planned": {t: len(v) for t, v in plan.keys.items()}})


def _originals(
    run: jobs.Run, held: records.Contents, files: list[str], redaction: others.Others
) -> Iterator[Entry]:
    """The recordings and attachments as stored, decrypted as they are written: one read-only
    session, each blob's row read with the others (a kill meanwhile starts the step again)."""
    wanted = [blob for _, blob, _ in held.recordings] + [blob for _, blob, _, _ in held.attachments]
    with run.env.reader() as session:
        blobs: dict[str, Blob] = {}
        for chunk in in_chunks(wanted):
            blobs.update(
                (b.name, b)
                for b in session.scalars(
                    select(Blob).where(Blob.tenant_id == run.tenant_id, Blob.name.in_(chunk))
                )
            )

        keys: dict[tuple[str, int], bytes] = {}

        def pieces(name: str) -> Iterable[bytes]:
            blob = blobs.get(name)
            if blob is None or blob.wrapped_key is None:
                return []  # shredded since the plan (the DPO deleted it): nothing to give
            return run.env.files.read(session, blob, keys=keys)

        for i, (activity, blob, mime) in enumerate(held.recordings, 1):
            path = f"files/recordings/{activity}.{EXTENSIONS.get(mime, 'bin')}"
            files.append(path)
            yield path, False, pieces(blob)
            if i % 20 == 0 or i == len(held.recordings):
                _progress(run, recordings=(i - 1) % 20 + 1)
        for name, blob, title, _mime in held.attachments:
            # The file name as the JSON shows it: other people's names taken out of it too.
            path = f"files/attachments/{name}/{safe_name(redaction.text(title) or name)}"
            files.append(path)
            yield path, True, pieces(blob)


def _facts(session: Session, run: jobs.Run, export: SubjectExport) -> report.Facts:
    tenant = session.get(Tenant, run.tenant_id)
    assert tenant is not None
    policies = {
        p.name: (p.days, p.action)
        for p in session.scalars(select(RetentionPolicy).where(RetentionPolicy.tenant_id == run.tenant_id))
    }
    integrations = list(
        session.scalars(
            select(User.title)
            .where(User.tenant_id == run.tenant_id, User.role == "integration")
            .order_by(User.title)
        )
    )
    return report.Facts(
        controller=tenant.title,
        dpo=tenant.dpo_email,
        timezone=tenant.timezone,
        made=utcnow(),
        export=export.name,
        request=export.request,
        policies=policies,
        recipients=integrations,
    )


def _progress(run: jobs.Run, **counts: int) -> None:
    with unit_of_work(run.env.factory) as session:
        run.beat(session, exported=counts)


def _entries(run: jobs.Run, export: SubjectExport, made: dict[str, Any]) -> Iterator[Entry]:
    """Everything the package holds, read as it is written."""
    plan = plan_of(run)
    with run.env.reader() as session:
        tenant = session.get(Tenant, run.tenant_id)
        assert tenant is not None
        # The tenant-wide caller with the admin role's rights: the person is owed what is hidden
        # from operators too (hidden custom fields); what goes in was decided by the DPO's request.
        caller = system_caller(session, run.tenant_id, user="export")
        held = records.contents(session, run.tenant_id, plan)
        data = {ep: list(records.wire(session, caller, ep, keys)) for ep, keys in held.keys.items() if keys}
        person = identity(session, run.tenant_id, plan).redactor(tenant.country)
        texts = [v for ep, rows in data.items() for row in rows for v in others.free_texts(ep, row)]
        redaction = others.build(session, run.tenant_id, tenant.country, person, plan.keys["contacts"], texts)
        facts = _facts(session, run, export)
    data = {ep: [redaction.record(ep, row) for row in rows] for ep, rows in data.items()}
    made["counts"] = {ep: len(rows) for ep, rows in data.items()}
    files: list[str] = []
    for endpoint, rows in data.items():
        yield f"data/{endpoint}.json", True, [orjson.dumps(rows, option=orjson.OPT_INDENT_2)]
    _progress(run, records=sum(made["counts"].values()))
    activities = {row.get("name"): row for row in data.get("activities", [])}
    for row in data.get("activitiesEmail", []):
        path = f"files/emails/{row['name']}.eml"
        files.append(path)
        yield path, True, [eml(row, activities.get(row["name"]))]
    yield from _originals(run, held, files, redaction)
    _progress(run, files=len(files))
    shown = report.records_html(data)
    for language in report.LANGUAGES:
        yield f"report.{language}.html", True, [report.render(language, facts, data, files, shown).encode()]
    manifest = {"export": export.name, "request": export.request, "counts": made["counts"], "files": files}
    yield "manifest.json", True, [orjson.dumps(manifest, option=orjson.OPT_INDENT_2)]


def _begin(run: jobs.Run) -> tuple[SubjectExport | None, str]:
    """The export to build and the name of the object it is written to, noted before a byte is
    written. What a run that died left under the name noted before goes first."""
    with unit_of_work(run.env.factory) as session:
        run.beat(session)
        export = session.get(SubjectExport, (run.tenant_id, run.params["export"]), with_for_update=True)
        if export is None or export.state != "building":
            return None, ""  # deleted meanwhile, or sealed by an earlier run
        left = export.partial
        export.partial = new_store_key()
        name = export.partial
    if left:
        run.env.files.store.delete(left)  # a missing object is fine
    return export, name


def step_package(run: jobs.Run) -> None:
    export, store_key = _begin(run)
    if export is None:
        return
    made: dict[str, Any] = {}
    zipped = Zipped(_entries(run, export, made))
    version, key = run.env.files.writing_key(run.env.factory, run.tenant_id)
    blob = run.env.files.seal(run.tenant_id, version, key, zipped, "application/zip", store_key=store_key)
    run.fault("sealed")  # stored, not yet filed: the next run removes the object
    with unit_of_work(run.env.factory) as session:
        run.beat(session)
        row = session.get(SubjectExport, (run.tenant_id, export.name), with_for_update=True)
        if row is None or row.state != "building":
            # Deleted while it was built: file the blob destroyed, for the reaper.
            blob.wrapped_key, blob.destroyed = None, utcnow()
            run.env.files.adopt(session, blob)
            return
        run.env.files.adopt(session, blob)
        row.partial = None
        row.blob, row.size, row.sha256 = blob.name, blob.size, zipped.digest.hexdigest()
        row.counts, row.state, row.edited = made["counts"], "ready", utcnow()
        if row.request is not None:
            request = session.get(SubjectRequest, (run.tenant_id, row.request))
            if request is not None:
                request.export = row.name
        audit.record(
            session,
            run.tenant_id,
            "privacy.export.ready",
            actor_of(run),
            "subjectExports",
            row.name,
            {"counts": made["counts"], "size": blob.size, "sha256": row.sha256},
        )


def on_failure(run: jobs.Run) -> None:
    with unit_of_work(run.env.factory) as session:
        row = session.get(SubjectExport, (run.tenant_id, run.params["export"]))
        if row is not None and row.state == "building":
            row.state, row.edited = "failed", utcnow()
            if row.partial is not None:  # what its last run had stored goes with it
                run.env.files.store.delete(row.partial)
                row.partial = None
        audit.record(
            session,
            run.tenant_id,
            "privacy.export.failed",
            actor_of(run),
            "subjectExports",
            run.params["export"],
            {},
        )


STEPS: list[jobs.Step] = [("plan", step_plan), ("package", step_package)]
jobs.register(KIND, STEPS, on_failure)
