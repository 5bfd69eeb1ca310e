"""Shared pytest setup: no user local.yaml or hub access leaking into tests."""
from __future__ import annotations

import importlib.util
import os
import sys
from functools import cache
from pathlib import Path
from types import ModuleType

import pytest
import torch

ROOT = Path(__file__).resolve().parents[1]
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


@cache
def load_script(relative_path: str) -> ModuleType:
    """A script of the repository (e.g. "tracking/test.py") imported as a module, once, so tests call its main()."""
    path = ROOT / relative_path
    name = "script_" + relative_path.replace("/", "_").removesuffix(".py")
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses (and pickling) look the module up by name
    spec.loader.exec_module(module)
    return module


@pytest.fixture(autouse=True)
def _isolated_settings(tmp_path_factory, monkeypatch):
    """Each test sees only the SUTRACK_* settings it sets itself, and writes outputs under a temp dir."""
    for key in list(os.environ):
        if key.startswith("SUTRACK_"):
            monkeypatch.delenv(key)
    base = tmp_path_factory.mktemp("settings")
    monkeypatch.setenv("SUTRACK_LOCAL", "")  # no settings file: defaults and SUTRACK_<KEY> only
    monkeypatch.setenv("SUTRACK_SAVE_DIR", str(base / "output"))


@pytest.fixture
def root(tmp_path, monkeypatch):
    """root(key) -> tmp/<key>, created and set as the settings key (SUTRACK_<KEY>): a dataset root for one test."""
    def point(key: str) -> Path:
        path = tmp_path / key
        path.mkdir(exist_ok=True)
        monkeypatch.setenv(f"SUTRACK_{key.upper()}", str(path))
        return path
    return point


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return ROOT


@pytest.fixture(autouse=True)
def _one_thread():
    """Two shared cores: one intra-op thread per test process avoids OpenMP oversubscription stalls."""
    old = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(old)
