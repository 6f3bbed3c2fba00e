"""Services hold every rule: validation, permissions and audit. Pages and API routes only call them."""
