"""Markdown written by people: task lists get their boxes, and the style keeps headings below the page title."""

from __future__ import annotations

import re

from appliance.markdown import render
from appliance.ui.markdown_view import MARKDOWN_CSS


def test_a_task_list_shows_ballot_boxes_and_other_brackets_stay_as_written() -> None:
    html = render('- [x] done\n- [ ] open\n- [X] also done\n- plain [ ] text\n\n[ ] not in a list\n')
    assert '<li class="enclave-md-task">\u2611 done</li>' in html
    assert '<li class="enclave-md-task">\u2610 open</li>' in html
    assert '<li class="enclave-md-task">\u2611 also done</li>' in html
    assert '<li>plain [ ] text</li>' in html and '<p>[ ] not in a list</p>' in html


def test_a_task_box_is_no_way_around_the_escaping() -> None:
    html = render('- [ ] <img src=x onerror=alert(1)>')
    assert '<img' not in html and '&lt;img src=x onerror=alert(1)&gt;' in html


def test_headings_in_a_text_stay_smaller_than_the_page_title_and_lists_keep_their_markers() -> None:
    sizes = {
        level: float(size)
        for level, size in re.findall(r'\.enclave-md h(\d) \{ font-size: ([\d.]+)rem; \}', MARKDOWN_CSS)
    }
    assert sizes and max(sizes.values()) <= 1.25  # the page title (text-h5-like, 1.5rem) stays the largest
    assert 'list-style: disc' in MARKDOWN_CSS and 'list-style: decimal' in MARKDOWN_CSS
