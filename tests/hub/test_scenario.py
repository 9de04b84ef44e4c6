"""The shared ingest-and-merge scenario on the default database (SQLite)."""

from tests.hub.scenario import check_ingest_and_merge


def test_ingest_and_merge_on_sqlite(hub_client):  # type: ignore[no-untyped-def]
    check_ingest_and_merge(hub_client)
