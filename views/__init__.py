"""What Publiek shows people, on either side: human labels in Dutch and English
(``labels``), SVG charts (``charts``) and Jinja2 rendering (``pages``), ADR 0039.

The aggregator's web pages and the agent's local report (``publiek agent
report``) draw with the same labels and charts, so this package sits beside
``dp``: it may import ``protocol`` and ``dp``, and ``agent`` and ``aggregator``
import it, never the other way round (ADR 0040).
"""
