"""The ``hovor`` command: serve, migrate, and administer tenants and users.

One module per area; each defines its sub-command group (or top-level command), and this module
puts them together in the order ``hovor --help`` lists them.
"""

from __future__ import annotations

import sys

import typer

from hovor.cli import (
    audit,
    backup,
    db,
    demo,
    files,
    firewall,
    jobs,
    locations,
    privacy,
    retention,
    serve,
    tenants,
    users,
)

app = typer.Typer(
    help="hovor: contact-centre data platform with GDPR built in.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
)
app.command("demo")(demo.demo)
app.command("worker")(serve.worker)
app.command("serve")(serve.serve)
app.add_typer(db.db_app, name="db")
app.add_typer(tenants.tenant_app, name="tenant")
app.add_typer(locations.locations_app, name="locations")
app.add_typer(users.user_app, name="user")
app.add_typer(users.operator_app, name="operator")
app.add_typer(privacy.privacy_app, name="privacy")
app.add_typer(files.files_app, name="files")
app.add_typer(audit.audit_app, name="audit")
app.add_typer(jobs.jobs_app, name="jobs")
app.add_typer(retention.retention_app, name="retention")
app.add_typer(backup.backup_app, name="backup")
app.add_typer(firewall.firewall_app, name="firewall")
app.add_typer(serve.tls_app, name="tls")


def main() -> None:  # pragma: no cover
    sys.exit(app())
