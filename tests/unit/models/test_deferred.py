"""Every model builds on first use (defer_build, models/resources.py), and every one can be built: a
bad forward reference would otherwise show only when a command first uses that model."""

from __future__ import annotations

import importlib
import pkgutil

import pytest
from pydantic import BaseModel

import fabric_ci


def _models() -> list[type[BaseModel]]:
    for module in pkgutil.walk_packages(fabric_ci.__path__, "fabric_ci."):
        if not module.name.endswith(".__main__"):  # those run a command when imported
            importlib.import_module(module.name)
    found: list[type[BaseModel]] = []
    pending = list(BaseModel.__subclasses__())
    while pending:
        model = pending.pop()
        pending += model.__subclasses__()
        if model.__module__.startswith("fabric_ci.") and model not in found:
            found.append(model)
    return sorted(found, key=lambda m: f"{m.__module__}.{m.__qualname__}")


MODELS = _models()


def test_the_package_has_the_models_the_comment_counts() -> None:
    assert len(MODELS) == 81


@pytest.mark.parametrize("model", MODELS, ids=lambda m: f"{m.__module__}.{m.__qualname__}")
def test_every_model_defers_its_build_and_builds(model: type[BaseModel]) -> None:
    assert model.model_config.get("defer_build") is True
    assert model.model_rebuild(force=True, raise_errors=True) is True
    model.model_json_schema()
