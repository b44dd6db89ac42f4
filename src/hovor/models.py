"""Imports every domain's models so the metadata is complete (Alembic, the registry test)."""

from hovor.auth import models as auth_models
from hovor.crm import models as crm_models
from hovor.db import Base
from hovor.files import models as files_models
from hovor.tenancy import models as tenancy_models

__all__ = ["Base", "auth_models", "crm_models", "files_models", "tenancy_models"]
