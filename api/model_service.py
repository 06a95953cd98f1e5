"""The models the API serves: loaded from the models folder at start, then reloaded while it
runs (every ``INTERSTORE_MODELS_POLL_S`` seconds, on SIGHUP, or ``interstore models reload``).
A new version that fails to load is logged with its problems and counted; the previous version
keeps serving."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal

from api.metrics import ModelMetrics
from core.settings import ModelSettings
from features.catalogue import Catalogue
from models.catalogue_view import CatalogueView, FeatureSpec
from models.derived_keys import DerivedKeys
from models.matrix import MatrixBuilder
from models.registry import ModelRegistry, ReloadReport
from models.source import FeatureSource

log = logging.getLogger("interstore.api")


def view_of(catalogue: Catalogue) -> CatalogueView:
    """The models' view of the feature catalogue (``features.catalogue.Catalogue``)."""
    entities = {name: tuple(entity.keys) for name, entity in catalogue.entities.items()}
    features = {
        name: FeatureSpec(
            ref.group.entity, ref.group.name, ref.definition.name, ref.definition.type, ref.default
        )
        for name, ref in catalogue.features.items()
    }
    return CatalogueView(entities, features)


class ModelService:
    """Start/stop service: the registry, the matrix builder, the reload triggers."""

    def __init__(
        self, settings: ModelSettings, view: CatalogueView, source: FeatureSource,
        metrics: ModelMetrics,
    ) -> None:  # fmt: skip
        self.settings = settings
        self.registry = ModelRegistry(settings.path, view)
        remembered = settings.derived_key_cache
        self.builder = MatrixBuilder(source, DerivedKeys(remembered) if remembered else None)
        self.metrics = metrics
        self._poller: asyncio.Task[None] | None = None
        self._sighup = False

    def reload(self) -> ReloadReport:
        report = self.registry.reload()
        for model in report.accepted:
            self.metrics.reloads.labels(model.id, "accepted").inc()
        for error in report.rejected:
            name = error.file.rsplit("/", 1)[-1].removesuffix(".yaml")
            self.metrics.reloads.labels(name, "rejected").inc()
        self.metrics.loaded.set(len(self.registry.all()))
        return report

    async def start(self) -> None:
        self.reload()
        loop = asyncio.get_running_loop()
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.add_signal_handler(signal.SIGHUP, self._on_sighup)
            self._sighup = True
        if self.settings.poll_s > 0:
            self._poller = asyncio.create_task(self._poll(), name="models-reload")

    def _on_sighup(self) -> None:
        log.info("SIGHUP: reloading models from %s", self.settings.path)
        self.reload()

    async def _poll(self) -> None:
        while True:
            await asyncio.sleep(self.settings.poll_s)
            try:
                self.reload()
            except Exception:  # keep polling whatever one pass met
                log.exception("model reload failed")

    async def stop(self) -> None:
        if self._sighup:
            asyncio.get_running_loop().remove_signal_handler(signal.SIGHUP)
            self._sighup = False
        if self._poller is not None:
            self._poller.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._poller
            self._poller = None
