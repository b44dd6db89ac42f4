"""``hovor user`` and ``hovor operator``: a tenant's users, platform staff, their tokens and second
factors."""

from __future__ import annotations

import secrets
from typing import Annotated

import typer
from sqlalchemy import select

from hovor.audit import log as audit
from hovor.auth import platform, totp
from hovor.auth.models import PlatformOperator, User
from hovor.auth.passwords import hash_password
from hovor.auth.schemas import UserCreate
from hovor.auth.service import issue_api_token, reset_second_factor, system_caller
from hovor.auth.users import create_user
from hovor.cli.common import CLI, console, factory, fail
from hovor.core.config import get_settings
from hovor.core.db import unit_of_work
from hovor.core.errors import ApiError

user_app = typer.Typer(help="Users of a tenant.", no_args_is_help=True)
operator_app = typer.Typer(help="Platform-operator staff accounts.", no_args_is_help=True)


@user_app.command("create")
def user_create(
    tenant: Annotated[str, typer.Option(help="Tenant id.")],
    name: Annotated[str, typer.Option(help="Login name (unique on the platform).")],
    title: Annotated[str, typer.Option(help="Display name.")],
    role: Annotated[str, typer.Option(help="admin, supervisor, operator, dpo, auditor, integration, ...")],
    email: str | None = None,
    profile: str = "all",
    password: Annotated[
        str | None, typer.Option(help="Password; omitted: one is generated and printed once.")
    ] = None,
) -> None:
    """Create a user of a tenant."""
    generated = password is None
    password = password or secrets.token_urlsafe(12)
    try:
        with unit_of_work(factory()) as session:
            caller = system_caller(session, tenant)
            create_user(
                session,
                caller,
                UserCreate(
                    name=name, title=title, role=role, profile=profile, email=email, password=password
                ),
            )
            audit.record(session, tenant, "auth.user.create", CLI, "users", name, {"fields": ["role"]})
    except (ApiError, LookupError) as exc:
        fail(f"{exc} {getattr(exc, 'form', None) or ''}")
    console.print(f"user {name} created")
    if generated:
        console.print(f"password: {password}")


@user_app.command("token")
def user_token(
    name: Annotated[str, typer.Option(help="Login name.")],
    title: Annotated[str | None, typer.Option(help="What the token is for.")] = None,
    days: Annotated[int | None, typer.Option(help="Lifetime in days (default from settings).")] = None,
) -> None:
    """Issue a long-lived API token for a user (an integration, usually). Printed once."""
    settings = get_settings()
    try:
        with unit_of_work(factory()) as session:
            user = session.scalars(select(User).where(User.name == name)).one_or_none()
            if user is None:
                fail("no such user")
            raw, token = issue_api_token(session, settings, user.tenant_id, user.name, title, days)
            details = {"kind": "api", "token": token.hash[:16]}
            audit.record(session, user.tenant_id, "auth.token.create", CLI, "users", user.name, details)
    except ApiError as exc:
        fail(str(exc))
    console.print(raw)


@operator_app.command("create")
def operator_create(
    name: Annotated[str, typer.Option(help="Staff login.")],
    title: Annotated[str, typer.Option(help="Staff member's name.")],
    email: str | None = None,
    password: str | None = None,
) -> None:
    """Create a platform-operator (processor staff) account."""
    settings = get_settings()
    generated = password is None
    password = password or secrets.token_urlsafe(12)
    with unit_of_work(factory()) as session:
        if session.get(PlatformOperator, name) is not None:
            fail("an operator with this name exists")
        session.add(
            PlatformOperator(
                name=name,
                title=title,
                email=email,
                password_hash=hash_password(password, settings.hash_profile),
            )
        )
        audit.record(session, audit.PLATFORM, "auth.operator.create", CLI, "operators", name)
    console.print(f"operator {name} created")
    if generated:
        console.print(f"password: {password}")


@operator_app.command("totp")
def operator_totp(name: Annotated[str, typer.Argument(help="Staff login.")]) -> None:
    """Set up (or replace) a staff account's second factor; prints the secret to add to an
    authenticator app. Staff sign in over the network only with it."""
    with unit_of_work(factory()) as session:
        try:
            secret = platform.set_up_totp(session, get_settings(), name)
        except ApiError as exc:
            fail(str(exc))
        audit.record(session, audit.PLATFORM, "auth.operator.totp", CLI, "operators", name)
    console.print(f"secret: {secret}")
    console.print(f"uri: {totp.uri(secret, name, 'hovor platform')}")


@user_app.command("reset-totp")
def user_reset_totp(name: Annotated[str, typer.Argument(help="The user's login.")]) -> None:
    """Remove a user's second factor (a lost phone); their sign-ins end and they set it up again at
    the next sign-in."""
    with unit_of_work(factory()) as session:
        user = session.scalars(select(User).where(User.name == name)).one_or_none()
        if user is None:
            fail("no such user")
        reset_second_factor(session, user)
        audit.record(session, user.tenant_id, "auth.totp.reset", CLI, "users", user.name)
    console.print(f"{name}: second factor removed; set up again at the next sign-in")
