"""Rendering the aggregator's pages: Jinja2 templates with autoescaping, the
one stylesheet, and numbers in the reader's language (ADR 0039).

Templates are package data (``views/templates``), so an installed
aggregator needs nothing beside its package. Every value a template prints
is escaped unless it is ``Markup`` made by ``views.charts``, which
escapes the texts it puts in its SVG itself. A name a template does not know
is an error (``StrictUndefined``), not an empty string on a public page.

The stylesheet is inlined (no request to make, nothing the policy must
allow but its hash: ``aggregator.api.security_headers``), so it is read once
here and is the same bytes on every page.
"""

from __future__ import annotations

from importlib import resources
from typing import Any

import jinja2
from markupsafe import Markup

from views.labels import DEFAULT_LANGUAGE

_TEMPLATES = resources.files("views") / "templates"
STYLE = (_TEMPLATES / "page.css").read_text(encoding="utf-8").strip()
# The package's own stylesheet, inserted as it is (escaping would change its bytes and hash).
_STYLE_MARKUP = Markup(STYLE)  # noqa: S704 - a file of this package, not input

_environment = jinja2.Environment(
    loader=jinja2.PackageLoader("views", "templates"),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
    keep_trailing_newline=False,
)


def number(value: float, lang: str = DEFAULT_LANGUAGE) -> str:
    """A whole number as the reader writes it: ``12.345`` in Dutch, ``12,345``
    in English (rounded half to even, as Python's format does)."""
    text = f"{value:,.0f}"
    if text == "-0":
        text = "0"
    return text.replace(",", ".") if lang == "nl" else text


def render(template: str, **context: Any) -> str:
    """The page ``template`` with ``context`` and the stylesheet."""
    return _environment.get_template(template).render(style=_STYLE_MARKUP, **context)
