"""Queues, activities and channel resources; recording upload and playback; attachments; e-mail import."""

from hovor.activities.api import presence, resources  # registers the resources
from hovor.activities.api.files import router

__all__ = ["presence", "resources", "router"]
