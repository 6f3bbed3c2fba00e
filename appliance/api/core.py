"""Core API: the caller, users (admin), tokens and global search."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import Query, Response
from pydantic import BaseModel, Field

from appliance.api.deps import DB, Actor, Id, PageParams, Router
from appliance.models import ApiToken, User
from appliance.search import global_search
from appliance.services import accounts, tokens
from appliance.services.permissions import permissions_of

router = Router(prefix='/api/v1')


class UserOut(BaseModel):
    """A user as the API shows it (never the password hash or two-factor secret)."""

    id: int
    username: str
    display_name: str
    email: str
    language: str
    timezone: str
    active: bool
    roles: list[str]
    two_factor: bool
    created_at: datetime
    last_login_at: datetime | None

    @classmethod
    def of(cls, user: User) -> UserOut:
        """Build from a model."""
        return cls(
            id=user.id,
            username=user.username,
            display_name=user.display_name,
            email=user.email,
            language=user.language,
            timezone=user.timezone,
            active=user.is_active,
            roles=sorted(user.role_names),
            two_factor=user.totp_enabled,
            created_at=user.created_at,
            last_login_at=user.last_login_at,
        )


class MeOut(UserOut):
    """The caller, with the permissions they hold."""

    permissions: list[str]


class UserPage(BaseModel):
    """A page of users."""

    items: list[UserOut]
    total: int
    offset: int
    limit: int


class UserCreate(BaseModel):
    """Fields to create a user."""

    username: str = Field(max_length=64)
    display_name: str = Field(max_length=200)
    password: str = Field(max_length=1000)
    email: str = Field(default='', max_length=300)
    roles: list[str] = Field(default_factory=lambda: ['member'], max_length=20)
    language: str = Field(default='', max_length=16)
    timezone: str = Field(default='UTC', max_length=64)


class UserPatch(BaseModel):
    """Fields to change; absent fields stay as they are."""

    display_name: str | None = Field(default=None, max_length=200)
    email: str | None = Field(default=None, max_length=300)
    language: str | None = Field(default=None, max_length=16)
    timezone: str | None = Field(default=None, max_length=64)
    roles: list[str] | None = Field(default=None, max_length=20)
    active: bool | None = None


class PasswordReset(BaseModel):
    """A new password set by an admin."""

    password: str = Field(max_length=1000)


class TokenCreate(BaseModel):
    """A name and an optional lifetime for a new token."""

    name: str = Field(max_length=200)
    expires_days: int | None = Field(default=None, ge=1, le=3650)


class TokenOut(BaseModel):
    """A token's metadata; the secret is returned only once, at creation."""

    id: int
    name: str
    prefix: str
    created_at: datetime
    last_used_at: datetime | None
    expires_at: datetime | None
    revoked: bool
    token: str | None = None

    @classmethod
    def of(cls, row: ApiToken, raw: str | None = None) -> TokenOut:
        """Build from a model."""
        return cls(
            id=row.id,
            name=row.name,
            prefix=row.prefix,
            created_at=row.created_at,
            last_used_at=row.last_used_at,
            expires_at=row.expires_at,
            revoked=row.revoked_at is not None,
            token=raw,
        )


class TokenPage(BaseModel):
    """A page of tokens."""

    items: list[TokenOut]
    total: int
    offset: int
    limit: int


class SearchHitOut(BaseModel):
    """One search result."""

    module: str
    kind: str
    title: str
    url: str
    snippet: str
    score: float


class SearchOut(BaseModel):
    """Search results, best first."""

    query: str
    items: list[SearchHitOut]


@router.get('/me', response_model=MeOut, summary='The user behind the token')
def me(actor: Actor) -> Any:
    """Who am I, and what may I do."""
    return MeOut(**UserOut.of(actor).model_dump(), permissions=sorted(permissions_of(actor)))


@router.get('/users', response_model=UserPage, summary='List users (admin)')
def list_users(session: DB, actor: Actor, paging: PageParams, q: Annotated[str, Query(max_length=200)] = '') -> Any:
    """Users matching `q`, paginated."""
    page = accounts.list_users(session=session, actor=actor, query=q, offset=paging.offset, limit=paging.limit)
    return UserPage(items=[UserOut.of(u) for u in page.items], total=page.total, offset=page.offset, limit=page.limit)


@router.post('/users', response_model=UserOut, status_code=201, summary='Create a user (admin)')
def create_user(body: UserCreate, session: DB, actor: Actor) -> Any:
    """Create an account; the password must pass the policy."""
    user = accounts.create_user(
        session=session,
        actor=actor,
        username=body.username,
        display_name=body.display_name,
        password=body.password,
        email=body.email,
        roles=body.roles,
        language=body.language,
        timezone=body.timezone,
    )
    return UserOut.of(user)


@router.get('/users/{user_id}', response_model=UserOut, summary='One user (admin or self)')
def get_user(user_id: Id, session: DB, actor: Actor) -> Any:
    """A user by id."""
    return UserOut.of(accounts.get_user(session=session, actor=actor, user_id=user_id))


@router.patch('/users/{user_id}', response_model=UserOut, summary='Change a user (admin)')
def patch_user(user_id: Id, body: UserPatch, session: DB, actor: Actor) -> Any:
    """Edit details, roles, or disable / re-enable."""
    user = accounts.update_user(
        session=session,
        actor=actor,
        user_id=user_id,
        display_name=body.display_name,
        email=body.email,
        language=body.language,
        timezone=body.timezone,
        roles=body.roles,
    )
    if body.active is not None and body.active != user.is_active:
        user = accounts.set_active(session=session, actor=actor, user_id=user_id, active=body.active)
    return UserOut.of(user)


@router.post('/users/{user_id}/password', status_code=204, summary='Reset a password (admin)')
def reset_password(user_id: Id, body: PasswordReset, session: DB, actor: Actor) -> Response:
    """Set a new password and end the user's sessions."""
    accounts.reset_password(session=session, actor=actor, user_id=user_id, new_password=body.password)
    return Response(status_code=204)


@router.get('/tokens', response_model=TokenPage, summary="The caller's tokens")
def list_tokens(session: DB, actor: Actor, paging: PageParams) -> Any:
    """Tokens without their secrets, newest first."""
    page = tokens.list_tokens(session=session, actor=actor, offset=paging.offset, limit=paging.limit)
    return TokenPage(
        items=[TokenOut.of(row) for row in page.items], total=page.total, offset=page.offset, limit=page.limit
    )


@router.post('/tokens', response_model=TokenOut, status_code=201, summary='Create a token (secret shown once)')
def create_token(body: TokenCreate, session: DB, actor: Actor) -> Any:
    """A new personal access token for the caller."""
    row, raw = tokens.create_token(session=session, actor=actor, name=body.name, expires_days=body.expires_days)
    return TokenOut.of(row, raw)


@router.delete('/tokens/{token_id}', status_code=204, summary='Revoke a token')
def revoke_token(token_id: Id, session: DB, actor: Actor) -> Response:
    """Revoke one of the caller's tokens."""
    tokens.revoke_token(session=session, actor=actor, token_id=token_id)
    return Response(status_code=204)


@router.get('/search', response_model=SearchOut, summary='Search everything the caller may see')
def search(
    session: DB,
    actor: Actor,
    q: Annotated[str, Query(max_length=200)] = '',
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
) -> Any:
    """Global search across every module's provider; Chinese and English."""
    hits = global_search(session=session, actor=actor, query=q, limit=limit)
    return SearchOut(query=q, items=[SearchHitOut(**hit.__dict__) for hit in hits])
