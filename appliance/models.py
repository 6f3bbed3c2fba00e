"""Core tables (prefix `core_`): accounts, sessions, tokens, audit, settings, blobs, search, notifications."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from appliance.db import Base, utcnow


class OrgSetting(Base):
    """Organisation-wide key/value settings chosen in the UI (name, language, two-factor policy)."""

    __tablename__ = 'core_settings'
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


class User(Base):
    """A person who can sign in."""

    __tablename__ = 'core_users'
    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(128))
    email: Mapped[str] = mapped_column(String(254), default='')
    language: Mapped[str] = mapped_column(String(16), default='en')
    timezone: Mapped[str] = mapped_column(String(64), default='UTC')
    is_active: Mapped[bool] = mapped_column(default=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    password_changed_at: Mapped[datetime] = mapped_column(default=utcnow)
    # TOTP secret, encrypted with the data key (Fernet); empty when two-factor is off.
    totp_secret: Mapped[str] = mapped_column(Text, default='')
    totp_enabled: Mapped[bool] = mapped_column(default=False)
    totp_last_step: Mapped[int] = mapped_column(BigInteger, default=0)
    # The directory's public facts (appliance.services.directory): shown to every member.
    position: Mapped[str] = mapped_column(String(100), default='')
    work_phone: Mapped[str] = mapped_column(String(40), default='')
    # Whom they report to, when set; otherwise a head of their main department (directory.manager_of). An account
    # is never deleted, and the service checks the manager exists; no foreign key, so that adding the column to a
    # live SQLite database never needs batch mode's copy of core_users (see its migration).
    manager_id: Mapped[int | None] = mapped_column(default=None, index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(default=None)
    roles: Mapped[list[UserRole]] = relationship(cascade='all, delete-orphan', lazy='selectin')

    @property
    def role_names(self) -> set[str]:
        """The names of this user's roles."""
        return {role.role for role in self.roles}


class UserRole(Base):
    """A role held by a user. Roles and their permissions are declared in code by the core and modules."""

    __tablename__ = 'core_user_roles'
    user_id: Mapped[int] = mapped_column(ForeignKey('core_users.id', ondelete='CASCADE'), primary_key=True)
    role: Mapped[str] = mapped_column(String(64), primary_key=True)


class LoginSession(Base):
    """A server-side browser session; the cookie holds a random token whose sha256 is stored here."""

    __tablename__ = 'core_sessions'
    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey('core_users.id', ondelete='CASCADE'), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    ip: Mapped[str] = mapped_column(String(64), default='')
    user_agent: Mapped[str] = mapped_column(String(512), default='')
    ended_at: Mapped[datetime | None] = mapped_column(default=None)
    end_reason: Mapped[str] = mapped_column(String(32), default='')
    user: Mapped[User] = relationship(lazy='joined')


class LoginTicket(Base):
    """A one-time, short-lived proof of a successful login, exchanged by a plain HTTP route for the cookie.

    NiceGUI event handlers run over the websocket and cannot set an HttpOnly cookie; the ticket bridges that.
    """

    __tablename__ = 'core_login_tickets'
    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey('core_users.id', ondelete='CASCADE'))
    ip: Mapped[str] = mapped_column(String(64), default='')
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None] = mapped_column(default=None)


class LoginFailure(Base):
    """Failed sign-in counter per account and per IP, for growing delays."""

    __tablename__ = 'core_login_failures'
    key: Mapped[str] = mapped_column(String(160), primary_key=True)
    failures: Mapped[int] = mapped_column(default=0)
    last_failure_at: Mapped[datetime] = mapped_column(default=utcnow)


class ApiToken(Base):
    """A personal access token; only its sha256 is stored. It acts with its user's permissions."""

    __tablename__ = 'core_api_tokens'
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey('core_users.id', ondelete='CASCADE'), index=True)
    name: Mapped[str] = mapped_column(String(100))
    prefix: Mapped[str] = mapped_column(String(16))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(default=None)
    expires_at: Mapped[datetime | None] = mapped_column(default=None)
    revoked_at: Mapped[datetime | None] = mapped_column(default=None)
    user: Mapped[User] = relationship(lazy='joined')


class AuditEvent(Base):
    """Append-only audit log; each row's hash covers its content and the previous row's hash."""

    __tablename__ = 'core_audit'
    __table_args__ = (Index('ix_core_audit_action_at', 'action', 'at'),)
    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    actor_id: Mapped[int | None] = mapped_column(default=None, index=True)
    actor_name: Mapped[str] = mapped_column(String(64), default='')
    action: Mapped[str] = mapped_column(String(64))
    target: Mapped[str] = mapped_column(String(200), default='')
    ip: Mapped[str] = mapped_column(String(64), default='')
    details: Mapped[str] = mapped_column(Text, default='{}')
    # Unique: two writers can never chain to the same row, so the chain cannot fork (the loser retries).
    prev_hash: Mapped[str] = mapped_column(String(64), unique=True)
    hash: Mapped[str] = mapped_column(String(64), unique=True)


class BlobRecord(Base):
    """A content-addressed file in the blob store (sha256 of its bytes)."""

    __tablename__ = 'core_blobs'
    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    size: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class BlobRef(Base):
    """One use of a blob by an owner (e.g. `tasks.attachment` #42); a blob with no refs is garbage."""

    __tablename__ = 'core_blob_refs'
    __table_args__ = (UniqueConstraint('sha256', 'owner', 'owner_id', name='uq_core_blob_refs_use'),)
    id: Mapped[int] = mapped_column(primary_key=True)
    sha256: Mapped[str] = mapped_column(ForeignKey('core_blobs.sha256', ondelete='RESTRICT'), index=True)
    owner: Mapped[str] = mapped_column(String(64))
    owner_id: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class SearchTerms(Base):
    """Searchable text of one object of a module (a task, a comment, ...), pre-split for the full-text index.

    `terms` holds the object's words, with Chinese runs cut into overlapping two-character pieces, so that a
    two-character word such as 项目 is one indexed token. SQLite indexes it with FTS5 (`core_search_fts`, kept in
    sync by triggers made in the migration); PostgreSQL with a GIN index on `to_tsvector('simple', terms)`.
    """

    __tablename__ = 'core_search_terms'
    __table_args__ = (UniqueConstraint('kind', 'ref_id', name='uq_core_search_terms_ref'),)
    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    ref_id: Mapped[int] = mapped_column()
    terms: Mapped[str] = mapped_column(Text, default='')


class Notification(Base):
    """Something a user should know about (assigned, mentioned, due tomorrow ...), shown in the header's bell.

    `dedup_key` makes a producer idempotent: one notification per user and key (e.g. a scheduled job that runs
    again). `email_state` is the outbox of the optional e-mail copy: '' (none), 'pending', 'sent', 'failed'.
    """

    __tablename__ = 'core_notifications'
    __table_args__ = (
        UniqueConstraint('user_id', 'dedup_key', name='uq_core_notifications_dedup'),
        Index('ix_core_notifications_user_read', 'user_id', 'read_at'),
        Index('ix_core_notifications_email', 'email_state'),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey('core_users.id', ondelete='CASCADE'))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey('core_users.id', ondelete='SET NULL'), default=None)
    module: Mapped[str] = mapped_column(String(32))
    kind: Mapped[str] = mapped_column(String(64))
    title: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text, default='')
    url: Mapped[str] = mapped_column(String(500), default='')
    dedup_key: Mapped[str | None] = mapped_column(String(200), default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    read_at: Mapped[datetime | None] = mapped_column(default=None)
    email_state: Mapped[str] = mapped_column(String(16), default='')
    email_attempts: Mapped[int] = mapped_column(default=0)


class Department(Base):
    """A department of the company directory. Never deleted: a closed or merged one keeps its row and history."""

    __tablename__ = 'core_departments'
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    # Optional short code (for imports and other systems); unique whatever the case, checked by the service.
    code: Mapped[str | None] = mapped_column(String(32), default=None, unique=True)
    parent_id: Mapped[int | None] = mapped_column(
        ForeignKey('core_departments.id', ondelete='RESTRICT'), default=None, index=True
    )
    sort_order: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column(default=None)
    merged_into_id: Mapped[int | None] = mapped_column(
        ForeignKey('core_departments.id', ondelete='RESTRICT'), default=None
    )


class DepartmentHead(Base):
    """A head (manager) of a department; a department may have several, a person may head several."""

    __tablename__ = 'core_department_heads'
    department_id: Mapped[int] = mapped_column(ForeignKey('core_departments.id', ondelete='CASCADE'), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey('core_users.id', ondelete='CASCADE'), primary_key=True, index=True)


class DepartmentMember(Base):
    """A person in a department; `is_main` marks their main one (at most one, kept so by the service)."""

    __tablename__ = 'core_department_members'
    user_id: Mapped[int] = mapped_column(ForeignKey('core_users.id', ondelete='CASCADE'), primary_key=True)
    department_id: Mapped[int] = mapped_column(
        ForeignKey('core_departments.id', ondelete='CASCADE'), primary_key=True, index=True
    )
    is_main: Mapped[bool] = mapped_column(default=False)
    since: Mapped[datetime] = mapped_column(default=utcnow)


class DepartmentEvent(Base):
    """A dated change to a department (created, renamed, moved, heads, merged, absorbed, closed), for its history."""

    __tablename__ = 'core_department_events'
    id: Mapped[int] = mapped_column(primary_key=True)
    department_id: Mapped[int] = mapped_column(ForeignKey('core_departments.id', ondelete='CASCADE'), index=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    actor_name: Mapped[str] = mapped_column(String(64), default='')
    action: Mapped[str] = mapped_column(String(32))
    details: Mapped[str] = mapped_column(Text, default='{}')
