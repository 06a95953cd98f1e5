"""`interstore models check | reload`: model files checked offline, and reloaded in the API."""

from __future__ import annotations

import os
import signal
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from core.errors import InterstoreError
from core.settings import load_settings

models_app = typer.Typer(
    help="Model files (one YAML per model; INTERSTORE_MODELS_PATH).", no_args_is_help=True
)


@models_app.command("check")
def check(
    path: Annotated[
        Path | None, typer.Argument(help="A models folder (default INTERSTORE_MODELS_PATH).")
    ] = None,
) -> None:
    """Load every model file against the feature definitions; exit 1 if any is rejected."""
    from api.model_service import view_of
    from features.catalogue import load_catalogue
    from models.registry import ModelRegistry

    settings = load_settings()
    folder = path or settings.models.path
    registry = ModelRegistry(folder, view_of(load_catalogue(settings.features.definitions_path)))
    report = registry.reload()
    out = Console(highlight=False)
    for model in report.accepted:
        levels = " -> ".join(
            "+".join(read.entity for read in level)
            for level in (*model.plan.context_levels, *model.plan.candidate_levels)
        )
        out.print(f"ok  {model.id} {model.version}: {len(model.plan.columns)} columns; {levels}")
    for error in report.rejected:
        out.print(f"[bold red]bad[/] {error}")
    if report.rejected:
        raise typer.Exit(1)
    if not report.accepted:
        out.print(f"no *.yaml model files in {folder}")


@models_app.command("reload")
def reload() -> None:
    """Tell the running API (`interstore api`, its pid file under var/api) to reload its
    models now (SIGHUP); rejections are in its log and /v1/models."""
    from deploy.app_processes import api_process

    pid = api_process(load_settings()).pid()
    if pid is None:
        raise InterstoreError("no running `interstore api` found (var/api/api.pid)")
    os.kill(pid, signal.SIGHUP)
    Console(stderr=True).print(f"sent SIGHUP to the API (pid {pid}); see GET /v1/models")
