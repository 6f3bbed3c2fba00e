"""Markdown written by users (descriptions, comments), rendered to HTML that is safe to show.

markdown-it-py with raw HTML disabled: any `<script>` or `<img onerror>` in the text comes out escaped, and its
link validator refuses `javascript:`, `vbscript:`, `file:` and `data:` URLs (except images). Pages show the result
with `ui.html(..., sanitize=True)`, so the browser sanitizes it a second time. Images from other hosts would be a
load from outside the box: only local (relative) image sources are kept.
"""

from __future__ import annotations

from typing import Any

from markdown_it import MarkdownIt

MAX_SOURCE = 100_000


def _local_images_only(state: Any) -> None:
    """Turn images with an absolute or protocol-relative URL into their alt text (nothing loads from outside)."""
    for block in state.tokens:
        for child in block.children or ():
            if child.type == 'image':
                src = str(child.attrGet('src') or '')
                if not src.startswith('/') or src.startswith('//'):
                    child.type = 'text'
                    child.tag = ''
                    child.content = child.content or src
                    child.attrs = {}
                    child.children = None


def _external_links_safe(state: Any) -> None:
    """Links to other hosts open in a new tab without telling them where the reader came from."""
    for block in state.tokens:
        for child in block.children or ():
            if child.type == 'link_open':
                href = str(child.attrGet('href') or '')
                if '://' in href or href.startswith('//'):
                    child.attrSet('rel', 'noopener noreferrer nofollow')
                    child.attrSet('target', '_blank')


TASK_BOXES = {'[ ] ': '\u2610 ', '[x] ': '\u2611 ', '[X] ': '\u2611 '}


def _task_items(state: Any) -> None:
    """A list item that starts with `[ ]` or `[x]` (a GitHub task list) shows a ballot box instead (☐, ☑): as text,
    since the page's sanitizer keeps no form elements."""
    tokens = state.tokens
    for index, token in enumerate(tokens[:-2]):
        if token.type != 'list_item_open' or tokens[index + 2].type != 'inline':
            continue
        inline = tokens[index + 2]
        first = inline.children[0] if inline.children else None
        if first is not None and first.type == 'text' and first.content[:4] in TASK_BOXES:
            first.content = TASK_BOXES[first.content[:4]] + first.content[4:]
            token.attrSet('class', 'enclave-md-task')


def _build() -> MarkdownIt:
    md = MarkdownIt('commonmark', {'html': False, 'linkify': False, 'typographer': False}).enable('table')
    md.enable('strikethrough')
    md.core.ruler.push('local_images_only', _local_images_only)
    md.core.ruler.push('external_links_safe', _external_links_safe)
    md.core.ruler.push('task_items', _task_items)
    return md


_MD = _build()


def render(source: str) -> str:
    """Safe HTML for a Markdown text written by a user."""
    return str(_MD.render(source[:MAX_SOURCE]))


BLOCK_ENDS = frozenset(
    {'paragraph_close', 'heading_close', 'list_item_close', 'th_close', 'td_close', 'fence', 'code_block'}
)


def plain_text(source: str) -> str:
    """The words of a Markdown text without its markup, on one line: for snippets and excerpts, where '**首页设计稿**'
    and '## 目标' would show their asterisks and hashes. Links keep their text, images their alt text, code its code."""
    words: list[str] = []
    for token in _MD.parse(source[:MAX_SOURCE]):
        if token.type == 'inline':
            for child in token.children or ():
                if child.type in ('text', 'code_inline', 'image'):
                    words.append(child.content)
                elif child.type in ('softbreak', 'hardbreak'):
                    words.append(' ')
        elif token.type in ('fence', 'code_block'):
            words.append(token.content)
        if token.type in BLOCK_ENDS:
            words.append(' ')
    return ' '.join(''.join(words).split())
