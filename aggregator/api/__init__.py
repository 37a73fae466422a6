"""The aggregator's HTTP API, one router per area (``aggregator.app`` wires them).

* ``service`` — health and readiness; ``intake`` — keys, enrollment,
  submissions; ``auth`` — staff tokens, who am I; ``periods`` — list, signed
  configs, close and publish; ``benchmarks`` — groups, cells, CSV and Parquet;
  ``penetration`` — penetration and profiles; ``overlaps`` — crossover
  matrices, reach, an institution's own and named-pair overlaps;
  ``audit`` — budgets, the transparency log, the policy; ``submissions`` — a
  period's stored submissions with their status, setting one aside;
  ``institutions`` — an institution's own submissions, standing and report;
  ``sector_keys`` — the custodian relay; ``segment_models`` — the published
  segment model releases; ``sector_pages`` — the sector overview and
  trends, public and the taskforce's; ``section_downloads`` — their other
  sections as CSV/Parquet; ``privacy_pages`` — the privacy officer's pages;
  ``web_session`` — logging in to the pages, and their guards by role.
* ``dependencies`` — the shared services and the role checks (guards);
  ``models`` — the request and response bodies; ``problems`` — RFC 9457 error
  answers; ``openapi`` — the OpenAPI document (security, problems, bodies).
"""
