"""The ``certificate`` step: counts per record type and field, signed like audit checkpoints.

Keys and counts only, no personal data: the certificate is the proof that a person was erased, kept
with the job after the person is gone.
"""

from __future__ import annotations

import base64
from typing import Any

from cryptography.exceptions import InvalidSignature

from hovor.audit import log as audit
from hovor.audit.keys import decode_public, encode_public, key_id
from hovor.core.db import unit_of_work, utcnow
from hovor.jobs import service as jobs
from hovor.jobs.models import Job
from hovor.privacy.erasure.context import actor_of


def certificate_of(run: jobs.Run, finished: str) -> dict[str, Any]:
    with run.env.factory() as session:
        job = session.get(Job, (run.tenant_id, run.name))
        assert job is not None
        progress = dict(job.progress or {})
        created = audit.stamp(job.created)
        started = audit.stamp(job.started) if job.started else None
    return {
        "type": "hovor.erasure-certificate/1",
        "tenant": run.tenant_id,
        "job": run.name,
        "contact": run.params["contact"],
        "requested": created,
        "started": started,
        "finished": finished,
        "records": progress.get("records", {}),
        "fieldsCleared": progress.get("anonymized", {}),
        "rowsDeleted": progress.get("deleted", {}),
        "blobsShredded": (progress.get("blobs") or {}).get("shredded", 0),
        "mentionsRedacted": progress.get("mentions", {}),
        # PostgreSQL: the job that rewrites the touched tables (its state shows when it is done).
        "compaction": progress.get("compaction", "done"),
    }


def sign(signer: Any, certificate: dict[str, Any]) -> dict[str, Any]:
    public = signer.public_key()
    signature = signer.sign(audit.canonical(certificate))
    return {
        "certificate": certificate,
        "signature": base64.b64encode(signature).decode("ascii"),
        "keyId": key_id(public),
        "publicKey": encode_public(public),
    }


def verify_certificate(signed: dict[str, Any]) -> bool:
    try:
        decode_public(signed["publicKey"]).verify(
            base64.b64decode(signed["signature"]), audit.canonical(signed["certificate"])
        )
    except (InvalidSignature, KeyError, ValueError):
        return False
    return True


def step_certificate(run: jobs.Run) -> None:
    with run.env.factory() as reader:
        existing = reader.get(Job, (run.tenant_id, run.name))
        if existing is not None and existing.result:
            return  # signed by an earlier run of this step that died before marking it done
    signed = sign(run.env.signer, certificate_of(run, audit.stamp(utcnow())))
    with unit_of_work(run.env.factory) as session:
        job = session.get(Job, (run.tenant_id, run.name))
        assert job is not None
        job.result = signed
        audit.record(
            session,
            run.tenant_id,
            "privacy.erasure.done",
            actor_of(run),
            "contacts",
            run.params["contact"],
            {"job": run.name, "records": signed["certificate"]["records"]},
        )
