"""Imports every domain's models so the metadata is complete (Alembic, the registry test), and the
service modules that register reactions to other domains' deletes (``hovor.core.references.on_delete``)
and to consent changes (``hovor.forms.consent.on_change``), so every process that loads the models
also has every reaction."""

from hovor.activities import models as activities_models
from hovor.activities import service as activities_service
from hovor.audit import models as audit_models
from hovor.auth import models as auth_models
from hovor.campaigns import dialling as campaigns_dialling
from hovor.campaigns import models as campaigns_models
from hovor.core import records as core_records
from hovor.core.db import Base
from hovor.crm import models as crm_models
from hovor.edge import models as edge_models
from hovor.files import models as files_models
from hovor.forms import models as forms_models
from hovor.helpdesk import models as helpdesk_models
from hovor.index import models as index_models
from hovor.jobs import models as jobs_models
from hovor.privacy import models as privacy_models
from hovor.privacy.contract import models as contract_models
from hovor.tenancy import models as tenancy_models

__all__ = [
    "Base",
    "activities_models",
    "activities_service",
    "audit_models",
    "auth_models",
    "campaigns_dialling",
    "campaigns_models",
    "contract_models",
    "core_records",
    "crm_models",
    "edge_models",
    "files_models",
    "forms_models",
    "helpdesk_models",
    "index_models",
    "jobs_models",
    "privacy_models",
    "tenancy_models",
]
