"""Per-request facts that services record in the audit log without every call passing them."""

from __future__ import annotations

from contextvars import ContextVar

client_ip: ContextVar[str] = ContextVar('client_ip', default='')
"""The IP address of the person acting (set by the HTTP middleware and by UI event handlers)."""
