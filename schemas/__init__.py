"""Event schemas (Avro) and storage schemas (CQL), as files applied by code."""

from pathlib import Path

SCHEMAS_DIR = Path(__file__).resolve().parent
CQL_DIR = SCHEMAS_DIR / "cql"
AVRO_DIR = SCHEMAS_DIR / "avro"
