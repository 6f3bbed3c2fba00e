"""Comments on tasks (Markdown, @mentions that notify), edited and deleted by their authors (audited).

CONTRACT STUB: signatures are fixed; bodies are being written.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from appliance.models import User
from appliance.search import SearchHit
from modules.tasks.models import Comment
from modules.tasks.views import CommentView


def list_comments(*, session: Session, actor: User, task_id: int) -> list[CommentView]:
    """The task's comments, oldest first."""
    raise NotImplementedError


def add_comment(*, session: Session, actor: User, task_id: int, body: str) -> Comment:
    """Comment (project members); @username mentions of project members notify them; watchers hear of it."""
    raise NotImplementedError


def edit_comment(*, session: Session, actor: User, comment_id: int, body: str) -> Comment:
    """Change one's own comment (audited)."""
    raise NotImplementedError


def delete_comment(*, session: Session, actor: User, comment_id: int) -> None:
    """Delete one's own comment (a project manager may delete any; audited)."""
    raise NotImplementedError


def search_comments(*, session: Session, actor: User, query: str, limit: int) -> list[SearchHit]:
    """Comments on visible tasks matching the query (Chinese and English)."""
    return []
