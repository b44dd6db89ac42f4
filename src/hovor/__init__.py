"""hovor: a contact-centre data platform with GDPR built in."""

__version__ = "0.1.0"
