"""Input shapes for users, roles and profiles. Unknown fields are refused, not ignored."""

from __future__ import annotations

from pydantic import ConfigDict, EmailStr, Field

from hovor.core.validation import StrictModel
from hovor.core.wire import Key, RefIn, Text255


class UserCreate(StrictModel):
    name: Key
    title: Text255 = Field(min_length=1)
    email: EmailStr | None = None
    phone: str | None = Field(None, max_length=32)
    extension: str | None = Field(None, max_length=32, pattern=r"^[0-9*#+]{1,32}$")
    role: RefIn
    profile: RefIn = "all"
    password: str | None = Field(None, max_length=1024)
    deactivated: bool = False
    groups: list[RefIn] = Field(default_factory=list, max_length=100)


class UserUpdate(StrictModel):
    name: Key | None = None
    title: Text255 | None = Field(None, min_length=1)
    email: EmailStr | None = None
    phone: str | None = Field(None, max_length=32)
    extension: str | None = Field(None, max_length=32, pattern=r"^[0-9*#+]{1,32}$")
    role: RefIn | None = None
    profile: RefIn | None = None
    password: str | None = Field(None, max_length=1024)
    deactivated: bool | None = None
    groups: list[RefIn] | None = Field(None, max_length=100)


class RoleCreate(StrictModel):
    name: Key
    title: Text255 = Field(min_length=1)
    description: str | None = Field(None, max_length=4000)
    permissions: list[str] = Field(default_factory=list, max_length=500)


class RoleUpdate(StrictModel):
    name: Key | None = None
    title: Text255 | None = Field(None, min_length=1)
    description: str | None = Field(None, max_length=4000)
    permissions: list[str] | None = Field(None, max_length=500)


class ProfileCreate(StrictModel):
    name: Key
    title: Text255 = Field(min_length=1)
    description: str | None = Field(None, max_length=4000)
    # For each dimension: null (or absent) means all; a list limits the user to those.
    databases: list[RefIn] | None = Field(None, max_length=1000)
    queues: list[RefIn] | None = Field(None, max_length=1000)
    categories: list[RefIn] | None = Field(None, max_length=1000)


class ProfileUpdate(StrictModel):
    name: Key | None = None
    title: Text255 | None = Field(None, min_length=1)
    description: str | None = Field(None, max_length=4000)
    databases: list[RefIn] | None = Field(None, max_length=1000)
    queues: list[RefIn] | None = Field(None, max_length=1000)
    categories: list[RefIn] | None = Field(None, max_length=1000)


class LoginIn(StrictModel):
    model_config = ConfigDict(extra="ignore")  # v6 clients send only_token and similar flags

    username: str = Field(min_length=1, max_length=320)
    password: str = Field(min_length=1, max_length=1024)
    # The one-time code of the account's authenticator, when it has a second factor.
    totp: str | None = Field(None, max_length=16)
    # A browser's sign-in: the token comes back also as an HttpOnly cookie, and ends after a while
    # without use (HOVOR_SESSION_IDLE_MINUTES) or at the latest HOVOR_SESSION_MAX_HOURS after.
    session: bool = False


class TotpIn(StrictModel):
    totp: str | None = Field(None, max_length=16)
    # Setting up a factor from a signed-in session proves the password again.
    password: str | None = Field(None, max_length=1024)
    # Confirming: answer with a web session (cookie) instead of a token pair.
    session: bool = False


class RefreshIn(StrictModel):
    model_config = ConfigDict(extra="ignore")

    refreshToken: str = Field(min_length=1, max_length=200)
