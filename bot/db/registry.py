"""Imports every module that declares ORM models, so metadata is complete for Alembic."""

from __future__ import annotations

import importlib

MODEL_MODULES = (
    "bot.oncall.models",
    "bot.db.models",
    "bot.audit.models",
    "bot.actions.models",
    "bot.incidents.models",
    "bot.monitoring.models",
    "bot.automation.models",
    "bot.campaigns.models",
)


def import_all_models() -> None:
    for name in MODEL_MODULES:
        importlib.import_module(name)
