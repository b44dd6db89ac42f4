"""The audit log: one append-only hash chain per tenant, signed checkpoints, verification."""
