"""`interstore features worker`: the catalogue, the state stores, the garbage collector's
settings (``streams.features.collector``), then the worker until stopped: on batch consumers
(``streams.features.batch_host``, the default) or as a Faust app (``streams.features.app``)."""

from __future__ import annotations

import asyncio
import logging
import sys

import faust
from cassandra.cluster import Session

from core.settings import Settings
from features.generation_gate import GatedUpdater
from features.updater_factory import build_updater as build_features_updater
from streams.features.app import build_features_app
from streams.features.batch_host import run_features_batch_worker
from streams.features.collector import tune_collector
from streams.features.metrics import FeatureMetrics
from streams.features.records import repartition_topic_name
from streams.topics import TopicSpec, ensure_topics
from streams.worker import connect_cold_tier


def build_updater(settings: Settings, session: Session) -> GatedUpdater:
    """The worker's updater (``features.updater_factory``): it writes the current generation
    of the feature store, waiting while a rebuild switches generations, and skips events of
    forgotten users; its durable copy is written on ``flush`` (``streams.features.held_acks``
    holds the acknowledgements until then)."""
    updater, control = build_features_updater(settings, session, deferred_durable=True)
    return GatedUpdater(updater, control)


def run_features_worker(settings: Settings) -> None:
    # The repartition topic too, with leaders, before the consumers subscribe: a topic Faust
    # finds missing at subscription is ignored ("Ignoring missing topic") and never consumed.
    ensure_topics(settings.kafka, settings.topics, extra=[repartition_topic_spec(settings)])
    session = connect_cold_tier(settings)
    try:
        updater = build_updater(settings, session)
        tune_collector()
        conf = settings.features_worker
        if conf.consumer == "faust":
            app = build_features_app(settings, updater, FeatureMetrics())
            faust.Worker(app, loglevel=conf.log_level).execute_from_commandline()
        else:
            logging.basicConfig(
                level=conf.log_level.upper(),
                format="[%(asctime)s] [%(process)d] [%(levelname)s] %(name)s: %(message)s",
            )
            status = asyncio.run(run_features_batch_worker(settings, updater, FeatureMetrics()))
            if status:
                sys.exit(status)
    finally:
        session.cluster.shutdown()


def repartition_topic_spec(settings: Settings) -> TopicSpec:
    """The features worker's repartition topic: keyed by entity, as many partitions as events."""
    topics = settings.topics
    return TopicSpec(
        repartition_topic_name(settings),
        topics.partitions,
        topics.replication_factor,
        topics.retention_ms,
        strict_partitions=True,
    )
