"""Loading a model file: YAML -> ``ModelFile`` -> checked graph (``Plan``) -> ``Model``, with
every problem named by file and field. A model's id is its file name without ``.yaml``; its
version is a hash of the file's bytes."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

import yaml
from pydantic import ValidationError

from models.catalogue_view import CatalogueView
from models.config import ModelFile
from models.errors import ModelConfigError, Problem
from models.graph import Plan, resolve
from models.scoring import Scorer, build_scorer

MODEL_ID = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
SUFFIX = ".yaml"


@dataclass(frozen=True, slots=True)
class Model:
    id: str
    version: str
    path: Path
    spec: ModelFile
    plan: Plan
    scorer: Scorer | None

    def describe(self) -> dict[str, object]:
        """What ``GET /v1/models/{id}`` shows."""
        return {
            "model": self.id,
            "version": self.version,
            "description": self.spec.description,
            "context": list(self.plan.context_keys),
            "candidate": {"entity": self.plan.candidate_entity, "key": self.plan.candidate_key},
            "derived": dict(self.spec.derived),
            "columns": [
                {"name": c.name, "default": c.default, "numeric": c.numeric}
                for c in self.plan.columns
            ],
            "levels": {
                "context": [[r.entity for r in level] for level in self.plan.context_levels],
                "candidate": [[r.entity for r in level] for level in self.plan.candidate_levels],
            },
            "micro_batch": self.spec.micro_batch,
            "deadline_ms": self.spec.deadline_ms,
            "scorer": None if self.spec.scorer is None else self.spec.scorer.model_dump(),
        }


def version_of(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()[:12]


def _location(loc: tuple[int | str, ...]) -> str:
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def parse_model(name: str, content: bytes, view: CatalogueView, file: str) -> Model:
    """The model in ``content``; ModelConfigError naming ``file`` and each field otherwise."""
    if not MODEL_ID.match(name):
        raise ModelConfigError(
            file, [Problem("", f"model id {name!r} must match {MODEL_ID.pattern}")]
        )
    try:
        raw = yaml.safe_load(content)
    except yaml.YAMLError as exc:
        raise ModelConfigError(file, [Problem("", f"not valid YAML: {exc}")]) from None
    if not isinstance(raw, dict):
        raise ModelConfigError(file, [Problem("", "expected a mapping at the top")])
    try:
        spec = ModelFile.model_validate(raw)
    except ValidationError as exc:
        problems = [Problem(_location(e["loc"]), e["msg"]) for e in exc.errors()]
        raise ModelConfigError(file, problems) from None
    plan, problems = resolve(spec, view)
    if plan is None:
        raise ModelConfigError(file, problems)
    scorer = None
    if spec.scorer is not None:
        scorer, problems = build_scorer(spec.scorer, plan)
        if problems:
            raise ModelConfigError(file, problems)
    return Model(name, version_of(content), Path(file), spec, plan, scorer)


def load_model(path: Path, view: CatalogueView) -> Model:
    try:
        content = path.read_bytes()
    except OSError as exc:
        raise ModelConfigError(str(path), [Problem("", f"cannot read: {exc}")]) from None
    return parse_model(path.name.removesuffix(SUFFIX), content, view, str(path))
