"""The loaded models of a folder, reloaded while they serve.

``reload()`` reads every ``*.yaml`` of the folder: a new or changed file that loads replaces
its model (a new version); one that does not is rejected with its problems and the previous
version keeps serving; a deleted file unloads its model. Unchanged files (same content hash)
are skipped, so polling is cheap. The swap is one dict assignment: a request holds the
``Model`` it started with.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

from models.catalogue_view import CatalogueView
from models.errors import ModelConfigError, UnknownModel
from models.loader import SUFFIX, Model, parse_model, version_of

log = logging.getLogger("interstore.models")


@dataclass(slots=True)
class ReloadReport:
    accepted: list[Model] = field(default_factory=list)
    rejected: list[ModelConfigError] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.accepted or self.rejected or self.removed)


class ModelRegistry:
    def __init__(self, folder: Path, view: CatalogueView) -> None:
        self.folder = folder
        self.view = view
        self._models: dict[str, Model] = {}
        self._rejected: dict[str, tuple[str, ModelConfigError]] = {}
        """model id -> (rejected content's version, its error): not reported twice."""

    def get(self, model_id: str) -> Model:
        model = self._models.get(model_id)
        if model is None:
            known = ", ".join(sorted(self._models)) or "none"
            raise UnknownModel(f"no model {model_id!r} is loaded; loaded: {known}")
        return model

    def all(self) -> list[Model]:
        return [self._models[name] for name in sorted(self._models)]

    def rejections(self) -> dict[str, str]:
        """Per model id, why its file's current content is not the version serving."""
        return {name: str(error) for name, (_, error) in self._rejected.items()}

    def reload(self) -> ReloadReport:
        report = ReloadReport()
        models = dict(self._models)
        seen: set[str] = set()
        for path in sorted(self.folder.glob(f"*{SUFFIX}")):
            name = path.name.removesuffix(SUFFIX)
            seen.add(name)
            try:
                content = path.read_bytes()
            except OSError as exc:
                log.warning("model %s: cannot read %s: %s", name, path, exc)
                continue
            version = version_of(content)
            current = models.get(name)
            if current is not None and current.version == version:
                self._rejected.pop(name, None)
                continue
            if name in self._rejected and self._rejected[name][0] == version:
                continue
            try:
                model = parse_model(name, content, self.view, str(path))
            except ModelConfigError as exc:
                self._rejected[name] = (version, exc)
                report.rejected.append(exc)
                serving = f"version {current.version} keeps serving" if current else "not loaded"
                log.error("model %s: new version %s rejected (%s): %s", name, version, serving, exc)
                continue
            self._rejected.pop(name, None)
            models[name] = model
            report.accepted.append(model)
            log.info(
                "model %s: version %s loaded (%d columns)", name, version, len(model.plan.columns)
            )
        for name in sorted(set(models) - seen):
            del models[name]
            report.removed.append(name)
            log.info("model %s: file removed, unloaded", name)
        for name in set(self._rejected) - seen:
            del self._rejected[name]
        self._models = models
        return report
