"""The quick escaping of a page's elements (appliance/ui/nicegui_escape.py) gives exactly NiceGUI's HTML."""

from __future__ import annotations

import re

import pytest
from nicegui import client, json
from nicegui.testing import User as UIUser

from appliance.ui import nicegui_escape

TEXTS = [
    '',
    'plain ASCII',
    '项目计划 & 登录页面',
    '</script><script>alert(1)</script>',
    '`${document.cookie}` $& &amp; &lt;',
    'mixed 中文 <b>bold</b> & `tick` $ 5',
    '\u2028\u2029 line separators, emoji 🎉 and \\ backslashes',
]


@pytest.mark.parametrize('text', TEXTS)
def test_it_escapes_as_str_translate_does(text: str) -> None:
    page_json = json.dumps({'text': text})
    expected = page_json.translate(client.HTML_ESCAPE_TABLE)
    assert nicegui_escape.escape_html(page_json) == expected
    assert nicegui_escape._dumps({'text': text}).translate(client.HTML_ESCAPE_TABLE) == expected


def test_another_table_is_left_to_str_translate() -> None:
    table = str.maketrans({'a': 'b'})
    assert nicegui_escape._dumps('aa项目').translate(table) == json.dumps('aa项目').translate(table)


def _elements(html: str) -> str:
    found = re.search(r'parseElements\(String\.raw`(.*?)`\)', html, re.DOTALL)
    assert found, html[:500]
    return re.sub(r'[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}', 'UUID', found.group(1))  # event ids


async def test_a_page_s_html_is_the_same_with_and_without_it(user: UIUser) -> None:
    from nicegui import ui

    assert nicegui_escape.applied()  # the built app has it (appliance.ui.frame.install)

    @ui.page('/escape-probe')
    def probe() -> None:
        for text in TEXTS:
            ui.label(text)

    quick = _elements((await user.http_client.get('/escape-probe')).text)
    saved = client.json
    client.json = json  # type: ignore[assignment]
    try:
        slow = _elements((await user.http_client.get('/escape-probe')).text)
    finally:
        client.json = saved
    assert quick == slow
    assert '&lt;/script&gt;&lt;script&gt;' in quick and '</script>' not in quick
    assert '项目计划 &amp; 登录页面' in quick and '&#96;&#36;{document.cookie}&#96;' in quick
