"""The demo tenant: users of every built-in role and a CRM of realistic Czech contacts.

Seeding goes through the same services as the API, so demo data obeys every rule real data does.
Credentials are printed on the first run and kept in ``<data_dir>/demo-credentials.json``
(readable by its owner only) so a second run can print them again.
"""

from __future__ import annotations

import json
import os
import random
import secrets
from pathlib import Path
from typing import Any

from faker import Faker
from rich.console import Console
from rich.progress import track
from sqlalchemy.orm import Session, sessionmaker

from hovor.auth.caller import Caller
from hovor.auth.models import Role
from hovor.auth.schemas import UserCreate
from hovor.auth.service import issue_api_token
from hovor.auth.users import create_user
from hovor.config import Settings
from hovor.crm import schemas as crm
from hovor.crm import service as crm_service
from hovor.db import unit_of_work
from hovor.tenancy.models import Tenant
from hovor.tenancy.service import create_tenant

DEMO_TENANT = "demo"
DEMO_USERS = [
    ("admin", "Správce Demo", "admin"),
    ("supervisor", "Vedoucí Směny", "supervisor"),
    ("operator1", "Operátor Jedna", "operator"),
    ("operator2", "Operátorka Dvě", "operator"),
    ("dpo", "Pověřenec Demo", "dpo"),
    ("integration", "PBX Integrace", "integration"),
]


def system_caller(session: Session, tenant_id: str, user: str = "system") -> Caller:
    """A caller with every tenant permission, for CLI and seeding work done on the tenant's behalf."""
    tenant = session.get(Tenant, tenant_id)
    if tenant is None:
        raise LookupError("no such tenant")
    role = session.get(Role, (tenant_id, "admin"))
    assert role is not None
    return Caller(
        tenant_id=tenant_id,
        user=user,
        role="admin",
        permissions=frozenset(role.permissions),
        databases=None,
        timezone=tenant.timezone,
        country=tenant.country,
        token_kind="system",
    )


def credentials_file(settings: Settings) -> Path:
    return settings.data_dir / "demo-credentials.json"


def seed_demo(
    factory: sessionmaker[Session],
    settings: Settings,
    *,
    contacts: int = 300,
    seed: int = 42,
    console: Console | None = None,
) -> dict[str, Any]:
    path = credentials_file(settings)
    with unit_of_work(factory) as session:
        if session.get(Tenant, DEMO_TENANT) is not None:
            if path.exists():
                return dict(json.loads(path.read_text()))
            raise RuntimeError(
                f"The demo tenant exists but {path} is gone; reset passwords with `hovor user create`."
            )
    faker = Faker("cs_CZ")
    Faker.seed(seed)
    rnd = random.Random(seed)
    creds: dict[str, Any] = {"tenant": DEMO_TENANT, "users": []}
    with unit_of_work(factory) as session:
        create_tenant(
            session,
            DEMO_TENANT,
            "Demo Contact Centre s.r.o.",
            settings.timezone,
            "CZ",
            dpo_name="Pověřenec pro ochranu osobních údajů",
            dpo_email="dpo@demo.example",
        )
        caller = system_caller(session, DEMO_TENANT, user="admin")
        for login, title, role in DEMO_USERS:
            password = secrets.token_urlsafe(12)
            create_user(
                session,
                caller,
                UserCreate(
                    name=login, title=title, role=role, password=password, email=f"{login}@demo.example"
                ),
            )
            token, _ = issue_api_token(session, settings, DEMO_TENANT, login, "demo", None)
            creds["users"].append({"login": login, "role": role, "password": password, "token": token})
        db = crm_service.create_database(
            session, caller, crm.DatabaseCreate(name="customers", title="Zákazníci")
        )
        contact_form: list[dict[str, Any]] = [
            {"name": "number", "title": "Telefon", "type": "phone", "multiple": True},
            {"name": "email", "title": "E-mail", "type": "email", "multiple": True},
            {"name": "address", "title": "Adresa", "type": "address"},
            {"name": "consent_marketing", "title": "Souhlas s marketingem", "type": "consent"},
            {"name": "segment", "title": "Segment", "type": "select", "options": ["B2C", "B2B", "VIP"]},
        ]
        for position, spec in enumerate(contact_form):
            crm_service.create_form_field(
                session,
                caller,
                crm.FormFieldCreate.model_validate({**spec, "object_type": "contacts", "position": position}),
            )
        crm_service.create_form_field(
            session,
            caller,
            crm.FormFieldCreate(name="ico", title="IČO", object_type="accounts", type="text", regex=r"\d{8}"),
        )
        accounts = []
        for _ in range(max(1, contacts // 5)):
            accounts.append(
                crm_service.create_account(
                    session,
                    caller,
                    crm.AccountCreate(
                        title=faker.company(),
                        database=db.name,
                        customFields={"ico": [f"{rnd.randrange(10**7, 10**8)}"]},
                    ),
                ).name
            )
        owners = ["operator1", "operator2", None]
        for _ in track(range(contacts), description="demo contacts", console=console, transient=True):
            female = rnd.random() < 0.5
            first = faker.first_name_female() if female else faker.first_name_male()
            last = faker.last_name_female() if female else faker.last_name_male()
            consent = rnd.choice(["yes", "no", None])
            fields: dict[str, Any] = {
                "number": [faker.phone_number()],
                "email": [faker.email()],
                "address": [faker.address().replace("\n", ", ")],
                "segment": [rnd.choice(["B2C", "B2B", "VIP"])],
            }
            if consent:
                fields["consent_marketing"] = [consent]
            crm_service.create_contact(
                session,
                caller,
                crm.ContactCreate(
                    firstname=first,
                    lastname=last,
                    database=db.name,
                    account=rnd.choice(accounts) if rnd.random() < 0.6 else None,
                    user=rnd.choice(owners),
                    customFields=fields,
                ),
            )
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        json.dump(creds, fh, indent=2)
    return creds


def print_credentials(creds: dict[str, Any], console: Console) -> None:
    # Plain lines, not a table: a table would cut the tokens short on a narrow terminal.
    console.print(f"[bold]Demo tenant[/bold] {creds['tenant']}: users, passwords and API tokens")
    for user in creds["users"]:
        console.print(
            f"  {user['login']:<12} role={user['role']:<12} "
            f"password={user['password']}  token={user['token']}",
            soft_wrap=True,
            highlight=False,
        )
