"""The REST API under /api/v1: one error shape, bearer-token auth, pagination on every list."""
