"""The fixed vocabulary of audit actions: ``area.object.verb``.

An action outside this list is refused when it is recorded, so a typo cannot start a new kind of
entry that nobody filters for. Each resource names its object (``Resource.audit``) and gets the
create/update/delete verbs it offers; the test suite checks that every one is listed here.
"""

from __future__ import annotations

CRUD = ("create", "update", "delete")

_OBJECTS = (
    "tenancy.tenant",
    "crm.database",
    "crm.account",
    "crm.contact",
    "crm.form_field",
    "crm.record_type",
    "crm.record",
    "auth.user",
    "auth.role",
    "auth.profile",
    "activities.queue",
    "activities.activity",
    "activities.message",
    "activities.transcript",
    "activities.recording",
    "activities.attachment",
    "activities.session",
    "helpdesk.category",
    "helpdesk.status",
    "helpdesk.sla",
    "helpdesk.article",
    "helpdesk.article_folder",
    "auth.group",
    "auth.pause",
    "activities.template",
    "helpdesk.ticket",
    "campaigns.type",
    "campaigns.record",
    "privacy.hold",
    "privacy.retention_policy",
    "privacy.request",
    "privacy.export",
    "crm.consent",  # a consent event appended to the ledger (create only: events never change)
    "campaigns.blacklist",  # a suppression-list entry (a keyed hash, never the number)
)

_OTHERS = (
    # sign-in and tokens
    "auth.login.success",
    "auth.login.fail",
    "auth.logout",
    "auth.token.refresh",
    "auth.token.create",
    "auth.token.revoke",
    "auth.role.change",  # a user's role changed (beside the auth.user.update entry)
    "auth.operator.create",  # platform-operator staff account
    "auth.operator.totp",  # a staff account's second factor set up on the server
    "auth.totp.setup",  # a second factor's secret issued, not yet confirmed
    "auth.totp.enable",  # confirmed with a code
    "auth.totp.disable",  # removed by its owner (with a code)
    "auth.totp.reset",  # removed by an admin (a lost phone); the owner's sign-ins end
    "auth.totp.fail",  # a wrong code or password where a signed-in user proves it again
    # refusals worth knowing about: a privileged route refused for want of a right, and a change a
    # legal hold kept (hovor.api.refusals)
    "access.denied",
    "privacy.hold.blocked",
    # processor staff
    "platform.login.success",
    "platform.login.fail",
    "platform.logout",
    "platform.support.enter",  # staff entered a tenant: purpose and case reference (both chains)
    "platform.support.access",  # one request made inside the tenant: method and route
    "platform.support.leave",
    "platform.locations.change",  # a store's declared location set or removed: kind, country (both chains)
    # Contract end (both chains until the purge; the platform's after it): the export started, its
    # package written (files, size, digest), the controller's receipt, the purge approved, done.
    "platform.contract.export",
    "platform.contract.exported",
    "platform.contract.received",
    "platform.contract.approve",
    "platform.contract.purged",  # the certificate's job and row count (the tenant's chain is gone)
    "platform.contract.failed",
    # reads of personal data that matter
    "activities.recording.play",
    "activities.recording.download",
    "activities.attachment.download",
    "activities.email.import",
    # the data protection officer's work
    "privacy.subjects.search",  # details: pseudonyms of the identifiers searched, counts
    "privacy.erasure.preview",
    "privacy.erasure.request",  # the job is enqueued
    "privacy.request.verify",  # a subject request's identity check: the method
    "privacy.request.extend",  # its deadline extended: the new deadline
    "privacy.request.approve",  # an erasure approved by a second person
    "privacy.request.erase",  # the erasure it asked for started: the job
    "privacy.request.answer",
    "privacy.request.refuse",
    "privacy.request.overdue",  # past its deadline, flagged by the scheduler
    "privacy.export.ready",  # its package sealed: counts per record type, size, digest
    "privacy.export.download",  # the package downloaded
    "privacy.export.expire",  # its key destroyed at expiry (or when the DPO deleted it early)
    "privacy.export.failed",
    "privacy.consent.withdraw",  # every consent of a contact withdrawn at once: counts
    "privacy.subject.restrict",  # processing of a contact restricted (Art. 18)
    "privacy.subject.unrestrict",
    "privacy.subject.object",  # an objection to direct marketing: counts of hashes and withdrawals
    "privacy.erasure.chunk",  # one committed chunk of an erasure: counts and record keys
    "privacy.erasure.done",
    "privacy.erasure.failed",
    "privacy.recording.delete",
    "helpdesk.ticket.merge",  # tickets merged into one: the numbers
    "privacy.transcript.delete",
    "privacy.communication.delete",
    "privacy.retention.sweep",  # a sweep asked for now (the job's key)
    "privacy.retention.chunk",  # one committed chunk of a retention sweep: policy, counts, key range
    # platform and maintenance
    "platform.backup.take",  # a backup taken: its id, the blobs copied
    "platform.backup.restore",  # this database restored from a backup: id, ledger entries replayed
    "platform.backup.drill",  # a restore drill into a scratch directory: ok, seconds
    "tenancy.demo.seed",
    "audit.export",
    "audit.log.prune",  # the audit log's retention: entries through a signed checkpoint removed
    # the edge
    "edge.firewall.ban",  # a client banned: reason, length, earlier bans, the address as a pseudonym
    "edge.firewall.unban",
    "edge.firewall.rule.create",  # an allow- or deny-list entry
    "edge.firewall.rule.delete",
)

ACTIONS: frozenset[str] = frozenset([*(f"{o}.{v}" for o in _OBJECTS for v in CRUD), *_OTHERS])
