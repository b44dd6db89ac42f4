"""The declared resources of users and what decides their access: users (with their groups),
roles, profiles, and the catalogues of groups and pauses (``hovor.api.router`` builds their
routes). Sign-in and the second factor are :mod:`hovor.auth.api`."""

from __future__ import annotations

from typing import Any

from hovor.api.catalogue import Plain, catalogue
from hovor.api.resource import Ctx, Resource, qf, register, tags_field
from hovor.api.serialize import linked, links_loader, stamps
from hovor.auth import schemas, users
from hovor.auth.models import PauseType, Profile, Role, User, UserGroup, UserGroupLink
from hovor.core.wire import to_wire

# The groups of the users being read (a page of users.json, or whoim's own).
GROUPS = links_loader("groups", UserGroupLink, "user", "group", "user_groups")


def serialize_user(user: User, ctx: Ctx) -> dict[str, Any]:
    return {
        "name": user.name,
        "title": user.title,
        "email": user.email,
        "phone": user.phone,
        "extension": user.extension,
        "role": user.role,
        "profile": user.profile,
        "deactivated": user.deactivated,
        "second_factor": bool(user.totp_secret),
        "groups": linked(ctx, "groups", user.name),
        "last_login": to_wire(user.last_login, ctx.tz),
        **stamps(user, ctx),
    }


def serialize_role(role: Role, ctx: Ctx) -> dict[str, Any]:
    return {
        "name": role.name,
        "title": role.title,
        "description": role.description,
        "permissions": list(role.permissions or []),
        "builtin": role.builtin,
        "created": to_wire(role.created, ctx.tz),
        "edited": to_wire(role.edited, ctx.tz),
    }


def serialize_profile(profile: Profile, ctx: Ctx) -> dict[str, Any]:
    return {
        "name": profile.name,
        "title": profile.title,
        "description": profile.description,
        "databases": None if profile.databases is None else list(profile.databases),
        "queues": None if profile.queues is None else list(profile.queues),
        "categories": None if profile.categories is None else list(profile.categories),
        "builtin": profile.builtin,
        "created": to_wire(profile.created, ctx.tz),
        "edited": to_wire(profile.edited, ctx.tz),
    }


def _forget_user(state: Any, user: User) -> None:
    # A new password, deactivation, or another role or profile applies at once in this worker.
    state.caller_cache.forget_user(user.tenant_id, user.name)


def _forget_everyone(state: Any, _: Any) -> None:
    # A role's permissions or a profile's scope changed: every cached caller may be affected.
    state.caller_cache.clear()


def _role_change(before: dict[str, Any], after: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    if before.get("role") == after.get("role"):
        return []
    return [("auth.role.change", {"from": before.get("role"), "to": after.get("role")})]


register(
    Resource(
        endpoint="users",
        audit="auth.user",
        title="Users",
        model=User,
        permission="admin:users",
        fields=[
            qf("name", User.name),
            qf("title", User.title),
            qf("email", User.email),
            qf("phone", User.phone),
            qf("extension", User.extension),
            qf("role", User.role),
            qf("profile", User.profile),
            qf("deactivated", User.deactivated, "bool"),
            tags_field("groups", UserGroupLink, User, "user", "group"),
            qf("last_login", User.last_login, "datetime"),
            qf("created", User.created, "datetime"),
            qf("edited", User.edited, "datetime"),
            qf("created_by", User.created_by),
            qf("edited_by", User.edited_by),
        ],
        serialize=serialize_user,
        attach=GROUPS,
        create_schema=schemas.UserCreate,
        update_schema=schemas.UserUpdate,
        create=users.create_user,
        update=users.update_user,
        delete=users.delete_user,
        after_change=_forget_user,
        audit_also=_role_change,
        q_columns=[User.name, User.title, User.email],
        default_order=[User.name.asc()],
    )
)

register(
    Resource(
        endpoint="roles",
        audit="auth.role",
        title="Roles (accesses)",
        model=Role,
        permission="admin:roles",
        fields=[
            qf("name", Role.name),
            qf("title", Role.title),
            qf("description", Role.description),
            qf("builtin", Role.builtin, "bool"),
            qf("permissions", Role.permissions, filter=False, sort=False),
            qf("created", Role.created, "datetime"),
            qf("edited", Role.edited, "datetime"),
        ],
        serialize=serialize_role,
        create_schema=schemas.RoleCreate,
        update_schema=schemas.RoleUpdate,
        create=users.create_role,
        update=users.update_role,
        delete=users.delete_role,
        after_change=_forget_everyone,
        q_columns=[Role.name, Role.title],
        default_order=[Role.name.asc()],
    )
)

register(
    Resource(
        endpoint="profiles",
        audit="auth.profile",
        title="Profiles (rights)",
        model=Profile,
        permission="admin:profiles",
        fields=[
            qf("name", Profile.name),
            qf("title", Profile.title),
            qf("description", Profile.description),
            qf("builtin", Profile.builtin, "bool"),
            qf("databases", Profile.databases, filter=False, sort=False),
            qf("queues", Profile.queues, filter=False, sort=False),
            qf("categories", Profile.categories, filter=False, sort=False),
            qf("created", Profile.created, "datetime"),
            qf("edited", Profile.edited, "datetime"),
        ],
        serialize=serialize_profile,
        create_schema=schemas.ProfileCreate,
        update_schema=schemas.ProfileUpdate,
        create=users.create_profile,
        update=users.update_profile,
        delete=users.delete_profile,
        after_change=_forget_everyone,
        q_columns=[Profile.name, Profile.title],
        default_order=[Profile.name.asc()],
    )
)


catalogue(
    "groups",
    UserGroup,
    title="User groups",
    permission="admin:groups",
    audit="auth.group",
    key_prefix="groups",
    fields={
        "description": Plain(str | None, constraints={"max_length": 4000}),
        "deactivated": Plain(bool, "bool", False),
    },
)
catalogue(
    "pauses",
    PauseType,
    title="Pauses",
    permission="admin:pauses",
    audit="auth.pause",
    key_prefix="pauses",
    fields={
        "description": Plain(str | None, constraints={"max_length": 4000}),
        "paid": Plain(bool, "bool", False),
        "max_duration": Plain(int | None, "int", constraints={"ge": 0, "le": 86400}),
        "deactivated": Plain(bool, "bool", False),
    },
)
