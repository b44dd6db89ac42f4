"""Helpdesk: ticket categories and tickets."""
