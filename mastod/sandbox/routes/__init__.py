"""HTTP handlers, one module per API area; each module exposes a `routes` table."""
