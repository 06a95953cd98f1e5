"""Apply the CQL files of ``schemas/cql`` in order, idempotently (every statement IF NOT EXISTS)."""

from __future__ import annotations

from pathlib import Path
from string import Template

from cassandra.cluster import Session

from schemas import CQL_DIR
from store.errors import SchemaError


def cql_statements(keyspace: str, replication_factor: int, cql_dir: Path = CQL_DIR) -> list[str]:
    """The statements of every ``*.cql`` file, in file-name order, with settings filled in."""
    if not keyspace.isidentifier():
        raise SchemaError(f"keyspace name {keyspace!r} is not a valid CQL identifier")
    values = {"keyspace": keyspace, "replication_factor": str(replication_factor)}
    statements: list[str] = []
    for path in sorted(cql_dir.glob("*.cql")):
        lines = [ln for ln in path.read_text().splitlines() if not ln.strip().startswith("--")]
        text = Template("\n".join(lines)).substitute(values)
        statements.extend(part.strip() for part in text.split(";") if part.strip())
    return statements


def apply_schema(session: Session, keyspace: str, replication_factor: int) -> int:
    """Run every statement; return how many ran. Raises SchemaError naming the failing one."""
    statements = cql_statements(keyspace, replication_factor)
    for statement in statements:
        try:
            session.execute(statement, timeout=60)
        except Exception as exc:
            first_line = statement.splitlines()[0]
            raise SchemaError(f"applying CQL failed at `{first_line}`: {exc}") from exc
    return len(statements)
