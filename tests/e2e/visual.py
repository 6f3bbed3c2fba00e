"""What the visual pass (test_visual_pass.py) looks for on a page, and the list of pages it walks.

A page fails on: horizontal overflow; a visible English message in the Chinese UI (a string that equals an `en`
catalog entry whose zh_CN translation differs, placeholders matching anything); a visible raw dotted id
(`tasks.imported`, `console.backups`); a Markdown heading larger than 20 px; a browser console error; a request
to another host.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from urllib.parse import urlsplit

from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[2]
CATALOG = ROOT / 'appliance' / 'locale' / 'zh_CN' / 'LC_MESSAGES' / 'messages.po'

# The visible text of the page: every text node that is rendered (not in a closed menu, a hidden tab or <details>),
# trimmed, plus the placeholders of visible inputs. Icon ligatures (a Material icon's name is its text), text inside
# <code> and <pre>, and user content marked
# with data-user-text is what people wrote, not the UI's words, and is left out.
VISIBLE_TEXT_JS = r"""
const out = [];
const shown = (el) => {
  if (!el || !el.getClientRects().length) return false;
  const style = getComputedStyle(el);
  return style.visibility !== 'hidden' && style.display !== 'none' && style.opacity !== '0';
};
const skip = 'script, style, noscript, code, pre, .q-icon, .material-icons, [data-user-text]';
const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
for (let node = walker.nextNode(); node; node = walker.nextNode()) {
  const text = node.nodeValue.replace(/\s+/g, ' ').trim();
  const parent = node.parentElement;
  if (!text || !parent || parent.closest(skip)) continue;
  if (shown(parent)) out.push(text);
}
for (const input of document.querySelectorAll('input, textarea')) {
  if (input.placeholder && shown(input)) out.push(input.placeholder.trim());
}
return out;
"""

OVERFLOW_JS = 'return [document.documentElement.scrollWidth, window.innerWidth];'

# Headings inside what people wrote (Markdown) larger than 20 px: they would outshout the page's own title.
LOUD_HEADINGS_JS = """
return [...document.querySelectorAll('.enclave-md :is(h1, h2, h3, h4, h5, h6)')]
  .filter((h) => parseFloat(getComputedStyle(h).fontSize) > 20).map((h) => h.textContent.trim());
"""

# Ids of actions, checks and permissions: a module or core name, a dot, a lower-case word (more may follow).
RAW_ID = re.compile(
    r'(?<![\w./@-])(?:core|console|projects|tasks|drive|people|auth|user|project|task)\.[a-z_]+(?:\.[a-z_]+)*\b'
)


@cache
def english_messages() -> tuple[frozenset[str], tuple[re.Pattern[str], ...]]:
    """The msgids whose Chinese translation differs: exact strings, and patterns for those with {placeholders}."""
    with CATALOG.open('rb') as handle:
        catalog = read_po(handle)
    exact: set[str] = set()
    patterns: list[re.Pattern[str]] = []
    for message in catalog:
        if not message.id or isinstance(message.id, tuple) or not message.string or message.string == message.id:
            continue
        text = ' '.join(message.id.split())
        if '{' in text:
            literal = re.sub(r'\{[^{}]*\}', '', text)
            if len(re.findall(r'[A-Za-z]{3,}', literal)) >= 2:  # enough words that a match is the message
                parts = re.split(r'\{[^{}]*\}', text)
                patterns.append(re.compile('.+?'.join(re.escape(part) for part in parts)))
        elif re.search(r'[A-Za-z]{2,}', text):
            exact.add(text)
    return frozenset(exact), tuple(patterns)


def english_in(texts: list[str]) -> list[str]:
    """The texts that are untranslated catalog messages."""
    exact, patterns = english_messages()
    return [text for text in texts if text in exact or any(p.fullmatch(text) for p in patterns)]


def raw_ids_in(texts: list[str]) -> list[str]:
    """Raw dotted ids among the texts."""
    return [found.group(0) for text in texts for found in RAW_ID.finditer(text)]


def foreign_requests(urls: set[str], base_url: str) -> list[str]:
    """The URLs that went to another host than the server under test (data: and blob: URLs are the page's own;
    chrome: ones are the browser's new-tab page before the first load)."""
    host = urlsplit(base_url).hostname
    local = {'data', 'blob', 'about', 'chrome', 'chrome-extension', 'devtools'}
    return sorted(url for url in urls if urlsplit(url).scheme not in local and urlsplit(url).hostname != host)


@dataclass(frozen=True)
class PageSpec:
    """A registered page: its path pattern and the permission it needs."""

    path: str
    permission: str | None


def registered_pages() -> list[PageSpec]:
    """Every page `protected_page` registers, from a build of the app in a child process on a throwaway data dir
    (so that a new page is walked without anyone adding it to a list)."""
    script = (
        'import json\nfrom appliance.app import build\nbuild(migrate=True)\n'
        'from appliance.ui.guard import PAGES\nprint(json.dumps(PAGES))\n'
    )
    with tempfile.TemporaryDirectory(prefix='visual-pages-') as data:
        env = {**os.environ, 'ENCLAVE_DATA_DIR': data, 'ENCLAVE_CONFIG': f'{data}/enclave.toml'}
        done = subprocess.run(
            [sys.executable, '-c', script], env=env, capture_output=True, text=True, timeout=120, check=True
        )
    pages = json.loads(done.stdout.strip().splitlines()[-1])
    return [PageSpec(path, permission) for path, permission in pages.items()]
