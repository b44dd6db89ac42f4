"""Outbound campaigns: record types (forms) and records to dial."""
