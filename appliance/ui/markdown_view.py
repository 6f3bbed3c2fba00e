"""One way to show Markdown on a page (task descriptions, comments, project overviews): the safe HTML of
`appliance.markdown`, sanitized again by the browser, in the `enclave-md` style of `MARKDOWN_CSS`.

The style keeps what people wrote below the page's own title: headings from 1.25rem down, lists with bullets and
numbers, links that look like links, code, quotes and tables with borders; task-list items with their box.
"""

from __future__ import annotations

from nicegui import ui

from appliance import markdown

MARKDOWN_CSS = """<style>
.enclave-md { line-height: 1.6; overflow-wrap: anywhere; }
.enclave-md > :first-child { margin-top: 0; }
.enclave-md > :last-child { margin-bottom: 0; }
.enclave-md h1, .enclave-md h2, .enclave-md h3, .enclave-md h4, .enclave-md h5, .enclave-md h6 {
  font-weight: 600; line-height: 1.35; letter-spacing: normal; margin: 1em 0 0.4em; }
.enclave-md h1 { font-size: 1.25rem; } .enclave-md h2 { font-size: 1.15rem; } .enclave-md h3 { font-size: 1.05rem; }
.enclave-md h4, .enclave-md h5, .enclave-md h6 { font-size: 1rem; }
.enclave-md p { margin: 0 0 0.75em; }
.enclave-md ul, .enclave-md ol { margin: 0 0 0.75em; padding-left: 1.5em; }
.enclave-md ul { list-style: disc; } .enclave-md ol { list-style: decimal; }
.enclave-md ul ul { list-style: circle; }
.enclave-md li.enclave-md-task { list-style: none; margin-left: -1.2em; }
.enclave-md a { color: #1565c0; text-decoration: underline; }
.enclave-md code { font-family: ui-monospace, "SFMono-Regular", Menlo, Consolas, monospace; font-size: 0.875em;
  background: #f1f5f9; border-radius: 4px; padding: 0.1em 0.3em; }
.enclave-md pre { background: #f1f5f9; border-radius: 6px; padding: 0.75em 1em; overflow-x: auto; margin: 0 0 0.75em; }
.enclave-md pre code { background: none; padding: 0; }
.enclave-md blockquote { border-left: 3px solid #cbd5e1; color: #475569; margin: 0 0 0.75em; padding-left: 0.9em; }
.enclave-md table { border-collapse: collapse; margin: 0 0 0.75em; display: block; max-width: 100%; overflow-x: auto; }
.enclave-md th, .enclave-md td { border: 1px solid #cbd5e1; padding: 0.3em 0.7em; text-align: left; }
.enclave-md th { background: #f8fafc; font-weight: 600; }
.enclave-md hr { border: 0; border-top: 1px solid #e2e8f0; margin: 1em 0; }
.enclave-md img { max-width: 100%; }
</style>"""


def markdown_html(html: str) -> ui.html:
    """Show HTML that `appliance.markdown.render` made (e.g. kept with a comment)."""
    return ui.html(html, sanitize=True).classes('enclave-md max-w-none w-full')


def markdown_view(source: str) -> ui.html:
    """Render and show a Markdown text written by a user."""
    return markdown_html(markdown.render(source))
