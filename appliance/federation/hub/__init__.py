"""The regional hub: enrols appliances, verifies and stores their signed reports, and
merges them into federation-wide figures. It holds nothing personal about visitors.

Modules: `db` (its own database, SQLite or PostgreSQL, and migrations), `models`,
`epns` (EPNs, enrolment, keys), `access` (API tokens), `ingest` (the checks of
docs/protocol.md), `merge` (federation-wide figures), `export` (JSON and CSV), `app`
(the Flask factory), `api` (the HTTP views) and `cli` (`epn hub ...`).
"""

# Who runs an EPN (the hub's `--organiser`); here so the CLI needs no database import.
ORGANISERS = ("municipality", "library", "cpas", "non-profit", "other")
