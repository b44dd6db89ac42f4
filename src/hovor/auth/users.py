"""Users, roles and profiles of a tenant. Services flush, never commit."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from hovor.auth import schemas
from hovor.auth.models import Profile, Role, User, UserGroupLink
from hovor.auth.passwords import hash_password
from hovor.auth.service import revoke_tokens
from hovor.core.caller import Caller
from hovor.core.config import Settings, get_settings
from hovor.core.errors import Conflict, Forbidden, ValidationFailed
from hovor.core.identifiers import normalize_email, normalize_phone
from hovor.core.permissions import BUILTIN_ROLES, unknown_permissions
from hovor.core.records import catalogue_refs, key_unchanged, replace_links, stamp_edit
from hovor.core.references import clear_references, model_of
from hovor.tenancy import service as tenancy
from hovor.tenancy.models import Tenant


@cache
def common_passwords() -> frozenset[str]:
    """The list shipped with the project (``common-passwords.txt``), case-folded."""
    text = (Path(__file__).with_name("common-passwords.txt")).read_text(encoding="utf-8")
    return frozenset(line for line in text.splitlines() if line and not line.startswith("#"))


def check_password_policy(password: str, settings: Settings, *, names: tuple[str | None, ...] = ()) -> None:
    """Long enough, not one of the commonly used passwords, and not the user's own name or login."""
    if len(password) < settings.password_min_length:
        raise ValidationFailed({"password": [f"Use at least {settings.password_min_length} characters."]})
    folded = password.casefold()
    if folded in common_passwords() or folded.rstrip("0123456789!.?") in common_passwords():
        raise ValidationFailed(
            {"password": ["This password is among the most commonly used ones; choose another."]}
        )
    if any(n and len(n) >= 4 and n.casefold() in folded for n in names):
        raise ValidationFailed({"password": ["The password must not contain the user name."]})


def _role_and_profile(session: Session, tenant_id: str, role: str | None, profile: str | None) -> None:
    form: dict[str, list[str]] = {}
    if role is not None and session.get(Role, (tenant_id, role)) is None:
        form["role"] = ["No such role."]
    if profile is not None and session.get(Profile, (tenant_id, profile)) is None:
        form["profile"] = ["No such profile."]
    if form:
        raise ValidationFailed(form)


def _within_rights(caller: Caller, granted: set[str] | frozenset[str], what: str) -> None:
    """One hands out only rights one holds: a role with rights the caller lacks is not the caller's
    to grant, nor a user holding them hers to take over (a new password). Work hovor does itself
    (seeding, commands: the system caller) is not a person reaching for rights."""
    if caller.token_kind == "system":
        return
    beyond = sorted(set(granted) - set(caller.permissions))
    if beyond:
        raise Forbidden(
            f"{what} holds rights yours does not ({', '.join(beyond[:3])}); it is not yours to give."
        )


def _within_scope(caller: Caller, scope: dict[str, list[str] | None], what: str) -> None:
    """The data half of the same rule: a profile reaching databases, queues or ticket categories
    beyond the caller's own (None: all of them) is not hers to give, nor a user holding it hers
    to take over."""
    if caller.token_kind == "system":
        return
    beyond = []
    for dimension, theirs in scope.items():
        mine = getattr(caller, dimension)
        if mine is None:
            continue
        if theirs is None:
            beyond.append(f"every {dimension[:-1] if dimension != 'categories' else 'category'}")
        else:
            beyond += sorted(set(theirs) - set(mine))
    if beyond:
        shown = ", ".join(beyond[:3])
        raise Forbidden(f"{what} reaches data yours does not ({shown}); it is not yours to give.")


def _profile_scope(session: Session, tenant_id: str, profile: str | None) -> dict[str, list[str] | None]:
    found = session.get(Profile, (tenant_id, profile)) if profile else None
    if found is None:
        return {d: [] for d in DIMENSIONS}
    return {d: getattr(found, d) for d in DIMENSIONS}


def may_manage(session: Session, caller: Caller, user: User) -> None:
    """Another user is the caller's to change, deactivate, delete, reset or issue a token for only
    if the user's role and profile reach nothing the caller's do not: otherwise an administrator
    could demote a DPO and then set her password, or widen her own profile."""
    _within_rights(caller, _role_rights(session, user.tenant_id, user.role), "The user's role")
    _within_scope(caller, _profile_scope(session, user.tenant_id, user.profile), "The user's profile")


def _role_rights(session: Session, tenant_id: str, role: str | None) -> set[str]:
    found = session.get(Role, (tenant_id, role)) if role else None
    return set(found.permissions or []) if found is not None else set()


def _contact_fields(values: dict[str, Any], country: str) -> dict[str, Any]:
    form: dict[str, list[str]] = {}
    out = dict(values)
    if out.get("email"):
        try:
            out["email"] = normalize_email(out["email"])
        except ValueError:
            form["email"] = ["Not a valid e-mail address."]
    if out.get("phone"):
        try:
            out["phone"] = normalize_phone(out["phone"], country)
        except ValueError:
            form["phone"] = ["Not a valid phone number."]
    if form:
        raise ValidationFailed(form)
    return out


def create_user(session: Session, caller: Caller, body: schemas.UserCreate) -> User:
    settings = get_settings()
    values = _contact_fields(body.model_dump(exclude={"password", "groups"}), caller.country)
    _role_and_profile(session, caller.tenant_id, body.role, body.profile)
    _within_rights(caller, _role_rights(session, caller.tenant_id, body.role), "The role")
    _within_scope(caller, _profile_scope(session, caller.tenant_id, body.profile), "The profile")
    groups = catalogue_refs(session, caller, "user_groups", body.groups, "groups")
    if session.scalar(select(func.count()).select_from(User).where(User.name == body.name)):
        raise Conflict("This login name is taken.")
    password_hash = None
    if body.password is not None:
        check_password_policy(body.password, settings, names=(body.name,))
        password_hash = hash_password(body.password, settings.hash_profile)
    user = User(tenant_id=caller.tenant_id, password_hash=password_hash, created_by=caller.user, **values)
    session.add(user)
    session.flush()
    replace_links(session, UserGroupLink, "user", "group", user.tenant_id, user.name, groups)
    return user


def update_user(session: Session, caller: Caller, user: User, body: schemas.UserUpdate) -> User:
    settings = get_settings()
    key_unchanged(body, user.name)
    sent = body.model_dump(exclude_unset=True, exclude={"name", "password", "groups"})
    values = _contact_fields(sent, caller.country)
    _role_and_profile(session, caller.tenant_id, values.get("role"), values.get("profile"))
    if "title" in values and values["title"] is None:
        raise ValidationFailed({"title": ["A user needs a name."]})
    for key in ("role", "profile", "deactivated"):
        if key in values and values[key] is None:
            raise ValidationFailed({key: ["This field cannot be empty."]})
    may_manage(session, caller, user)
    if values.get("role") not in (None, user.role):
        _within_rights(caller, _role_rights(session, caller.tenant_id, values["role"]), "The role")
    if values.get("profile") not in (None, user.profile):
        _within_scope(caller, _profile_scope(session, caller.tenant_id, values["profile"]), "The profile")
    for key, value in values.items():
        setattr(user, key, value)
    if "password" in body.model_fields_set and body.password is not None:
        check_password_policy(body.password, settings, names=(user.name,))
        user.password_hash = hash_password(body.password, settings.hash_profile)
        revoke_tokens(session, user.tenant_id, user.name)
    if values.get("deactivated"):
        revoke_tokens(session, user.tenant_id, user.name)
    if "groups" in body.model_fields_set:
        groups = catalogue_refs(session, caller, "user_groups", body.groups or [], "groups")
        replace_links(session, UserGroupLink, "user", "group", user.tenant_id, user.name, groups)
    stamp_edit(user, caller)
    session.flush()
    return user


def delete_user(session: Session, caller: Caller, user: User) -> None:
    if user.name == caller.user:
        raise Conflict("You cannot delete your own account.")
    may_manage(session, caller, user)
    # Records the user owned or handled stay; they lose the link to the deleted account (their
    # tokens go with it, by the foreign key's cascade).
    clear_references(session, "users", user.tenant_id, user.name)
    session.delete(user)
    session.flush()


# --- roles -------------------------------------------------------------------------------
def _check_permissions(perms: list[str]) -> list[str]:
    unknown = unknown_permissions(perms)
    if unknown:
        raise ValidationFailed({"permissions": [f"Unknown permission {p!r}." for p in unknown[:10]]})
    return sorted(set(perms))


def create_role(session: Session, caller: Caller, body: schemas.RoleCreate) -> Role:
    if session.get(Role, (caller.tenant_id, body.name)) is not None:
        raise Conflict("A role with this name exists.")
    permissions = _check_permissions(body.permissions)
    _within_rights(caller, set(permissions), "The role")
    role = Role(
        tenant_id=caller.tenant_id,
        name=body.name,
        title=body.title,
        description=body.description,
        permissions=permissions,
        builtin=False,
    )
    session.add(role)
    session.flush()
    return role


def update_role(session: Session, caller: Caller, role: Role, body: schemas.RoleUpdate) -> Role:
    key_unchanged(body, role.name)
    sent = body.model_dump(exclude_unset=True, exclude={"name"})
    if role.builtin and "permissions" in sent:
        raise Conflict("The permissions of a built-in role cannot be changed; create a role instead.")
    if "permissions" in sent:
        sent["permissions"] = _check_permissions(sent["permissions"] or [])
        added = set(sent["permissions"]) - set(role.permissions or [])
        _within_rights(caller, added, "The role")
    if "title" in sent and not sent["title"]:
        raise ValidationFailed({"title": ["A role needs a title."]})
    for key, value in sent.items():
        setattr(role, key, value)
    stamp_edit(role, caller)
    session.flush()
    return role


def delete_role(session: Session, caller: Caller, role: Role) -> None:
    if role.builtin:
        raise Conflict("A built-in role cannot be deleted.")
    in_use = session.scalar(
        select(func.count()).select_from(User).where(User.tenant_id == role.tenant_id, User.role == role.name)
    )
    if in_use:
        raise Conflict("The role is assigned to users; assign them another role first.")
    session.delete(role)
    session.flush()


# --- profiles ----------------------------------------------------------------------------
# The records each rights dimension of a profile names.
DIMENSION_TABLES = {"databases": "crm_databases", "queues": "queues", "categories": "ticket_categories"}


def _dimension_models() -> dict[str, Any]:
    return {dimension: model_of(table) for dimension, table in DIMENSION_TABLES.items()}


def _check_grant(
    session: Session, tenant_id: str, dimension: str, names: list[str] | None
) -> list[str] | None:
    """A profile's list for one rights dimension: every name must exist in the tenant."""
    if names is None:
        return None
    model = _dimension_models()[dimension]
    unique = sorted(set(names))
    found = set(
        session.scalars(select(model.name).where(model.tenant_id == tenant_id, model.name.in_(unique)))
    )
    missing = [n for n in unique if n not in found]
    if missing:
        raise ValidationFailed(
            {
                dimension: [
                    f"No such {dimension[:-1] if dimension != 'categories' else 'category'} {n!r}."
                    for n in missing[:10]
                ]
            }
        )
    return unique


def create_profile(session: Session, caller: Caller, body: schemas.ProfileCreate) -> Profile:
    if session.get(Profile, (caller.tenant_id, body.name)) is not None:
        raise Conflict("A profile with this name exists.")
    scope = {d: _check_grant(session, caller.tenant_id, d, getattr(body, d)) for d in DIMENSIONS}
    _within_scope(caller, scope, "The profile")
    profile = Profile(
        tenant_id=caller.tenant_id, name=body.name, title=body.title, description=body.description, **scope
    )
    session.add(profile)
    session.flush()
    return profile


def update_profile(
    session: Session, caller: Caller, profile: Profile, body: schemas.ProfileUpdate
) -> Profile:
    key_unchanged(body, profile.name)
    sent = body.model_dump(exclude_unset=True, exclude={"name"})
    if profile.builtin and any(d in sent for d in DIMENSIONS):
        raise Conflict("The data scope of a built-in profile cannot be changed; create a profile instead.")
    for dimension in DIMENSIONS:
        if dimension in sent:
            sent[dimension] = _check_grant(session, caller.tenant_id, dimension, sent[dimension])
    _within_scope(caller, {d: sent[d] for d in DIMENSIONS if d in sent}, "The profile")
    if "title" in sent and not sent["title"]:
        raise ValidationFailed({"title": ["A profile needs a title."]})
    for key, value in sent.items():
        setattr(profile, key, value)
    stamp_edit(profile, caller)
    session.flush()
    return profile


def delete_profile(session: Session, caller: Caller, profile: Profile) -> None:
    if profile.builtin:
        raise Conflict("A built-in profile cannot be deleted.")
    in_use = session.scalar(
        select(func.count())
        .select_from(User)
        .where(User.tenant_id == profile.tenant_id, User.profile == profile.name)
    )
    if in_use:
        raise Conflict("The profile is assigned to users; assign them another profile first.")
    session.delete(profile)
    session.flush()


DIMENSIONS = ("databases", "queues", "categories")


def forget_grant(session: Session, tenant_id: str, dimension: str, name: str) -> None:
    """Removes a deleted database, queue or category from every profile that listed it."""
    column = getattr(Profile, dimension)
    for profile in session.scalars(
        select(Profile).where(Profile.tenant_id == tenant_id, column.is_not(None))
    ):
        granted = getattr(profile, dimension)
        if granted and name in granted:
            setattr(profile, dimension, [n for n in granted if n != name])
    session.flush()


def create_tenant(session: Session, tenant_id: str, title: str, *args: Any, **settings: Any) -> Tenant:
    """A new tenant (``hovor.tenancy.service.create_tenant`` takes the settings) with its built-in
    roles and the profile that covers all its data: what a tenant needs before its first user."""
    tenant = tenancy.create_tenant(session, tenant_id, title, *args, **settings)
    for name, (role_title, perms) in BUILTIN_ROLES.items():
        session.add(
            Role(tenant_id=tenant_id, name=name, title=role_title, permissions=sorted(perms), builtin=True)
        )
    session.add(Profile(tenant_id=tenant_id, name="all", title="All data", databases=None, builtin=True))
    session.flush()
    return tenant
