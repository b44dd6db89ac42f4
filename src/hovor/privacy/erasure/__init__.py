"""GDPR erasure of a contact, driven by the personal-data registry.

What happens to each column comes from its declaration (:mod:`hovor.core.personal_data`), never from
code per table (:mod:`.columns`): ``null`` empties it, ``placeholder`` writes a neutral word,
``redact_text`` keeps the text with every identifier and the person's name taken out,
``delete_row`` and ``delete_blob`` remove the row (and shred its file). Columns that are not the
subject's (an operator's login, a queue, times and durations) stay, so statistics survive.

An erasure is a job (:mod:`hovor.jobs`, registered by :mod:`.job`) of idempotent steps, a module
each:

``plan``       the records concerned, by key (the contact, its duplicates and what the DPO included;
               tickets, campaign and CRM records and activities linked to them); legal holds re-checked.
``mentions``   the person's name forms, phone numbers and e-mail addresses redacted in other people's
               records (a ``LIKE`` pre-filter in SQL, then :class:`~hovor.privacy.redact.Redactor`).
``anonymize``  the person's own records, in chunks: tombstone, shred blobs, clear fields, delete
               rows, one transaction and one audit entry per chunk.
``contact``    the contacts themselves deleted (last: their name is what the steps before redact).
``shred``      the objects of the shredded blobs deleted from the store.
``compact``    SQLite's WAL truncated (``secure_delete`` verified on); PostgreSQL's touched tables
               vacuumed (both in :mod:`.shred`).
``certificate`` counts per record type and field, signed like audit checkpoints.

A job killed at any point is taken over and resumes at its first unfinished step; a step redone
finds its finished chunks already done (cleared fields stay cleared, redacted text no longer
matches), so the end state is the same as an uninterrupted run.

Importing this package registers the job. The names below are what the rest of hovor uses: the
DPO's routes (:mod:`hovor.privacy.service`), the retention sweep, which anonymizes expired records
as erasure does (:mod:`hovor.privacy.kinds`), and the preview.
"""

from hovor.privacy.erasure.anonymize import anonymize_records
from hovor.privacy.erasure.certificate import verify_certificate
from hovor.privacy.erasure.columns import (
    PLACEHOLDER,
    Blank,
    clear_row,
    row_change,
    subject_columns,
    subject_fields,
)
from hovor.privacy.erasure.context import KIND
from hovor.privacy.erasure.identity import Identity, identity, unlinked
from hovor.privacy.erasure.job import STEPS, on_failure
from hovor.privacy.erasure.mentions import find_mentions, free_text_columns
from hovor.privacy.erasure.plan import (
    CHILDREN,
    MODELS,
    TYPES,
    Plan,
    check_holds,
    hold_pairs,
    in_chunks,
    make_plan,
    parse_include,
)
from hovor.privacy.erasure.preview import preview

__all__ = [
    "CHILDREN",
    "KIND",
    "MODELS",
    "PLACEHOLDER",
    "STEPS",
    "TYPES",
    "Blank",
    "Identity",
    "Plan",
    "anonymize_records",
    "check_holds",
    "clear_row",
    "find_mentions",
    "free_text_columns",
    "hold_pairs",
    "identity",
    "in_chunks",
    "make_plan",
    "on_failure",
    "parse_include",
    "preview",
    "row_change",
    "subject_columns",
    "subject_fields",
    "unlinked",
    "verify_certificate",
]
