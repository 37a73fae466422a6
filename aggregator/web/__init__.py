"""The aggregator's web pages: human labels (``labels``), SVG charts
(``charts``) and Jinja2 rendering (``pages``), ADR 0039."""
