from pathlib import Path

from landkarte.schema import schema

SCHEMA_FILE = Path(__file__).resolve().parents[2] / "schema.graphql"


def test_committed_schema_matches_code():
    committed = SCHEMA_FILE.read_text()
    current = str(schema)
    assert committed.strip() == current.strip(), (
        "schema.graphql is out of date: run `make schema` and commit the result"
    )
