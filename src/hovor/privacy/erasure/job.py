"""The erasure job: its steps in order, registered with the job runner under :data:`KIND`.

Every step is idempotent and commits its own work; a job killed anywhere is taken over and resumes
at its first unfinished step (tests/test_erasure_kill.py kills it at every step and chunk).
"""

from __future__ import annotations

from hovor.audit import log as audit
from hovor.core.db import unit_of_work
from hovor.jobs import service as jobs
from hovor.privacy.erasure.anonymize import step_anonymize
from hovor.privacy.erasure.certificate import step_certificate
from hovor.privacy.erasure.consents import step_plan
from hovor.privacy.erasure.contact import step_contact
from hovor.privacy.erasure.context import KIND, actor_of
from hovor.privacy.erasure.mentions import step_mentions
from hovor.privacy.erasure.shred import step_compact, step_shred


def on_failure(run: jobs.Run) -> None:
    with unit_of_work(run.env.factory) as session:
        audit.record(
            session,
            run.tenant_id,
            "privacy.erasure.failed",
            actor_of(run),
            "contacts",
            run.params["contact"],
            {"job": run.name},
        )


STEPS: list[jobs.Step] = [
    ("plan", step_plan),
    ("mentions", step_mentions),
    ("anonymize", step_anonymize),
    ("contact", step_contact),
    ("shred", step_shred),
    ("compact", step_compact),
    ("certificate", step_certificate),
]
jobs.register(KIND, STEPS, on_failure)
