"""Shared fixtures: the sample built into a temp folder, one embedded Ray for the session, and one
pipeline run of the sample that many tests read."""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from mmedc.paths import ROOT, dev_data_dir

os.environ.setdefault("OMP_THREAD_LIMIT", "1")
os.environ.setdefault("RAY_DEDUP_LOGS", "1")


@pytest.fixture(scope="session")
def sample_inputs(tmp_path_factory) -> Path:
    """The sample recipe and its inputs, built fresh in a temp folder."""
    from mmedc.sample.build import build

    root = tmp_path_factory.mktemp("sample")
    shutil.copy(ROOT / "pipelines" / "sample.toml", root / "sample.toml")
    build(root / "sample" / "generated")
    return root / "sample.toml"


@pytest.fixture()
def ray_local():
    """Embedded Ray with 2 CPUs, shared by the tests that need it (started once, on first use)."""
    import ray

    if not ray.is_initialized():
        from mmedc.executor.ray_executor import start as init_ray

        init_ray(None, 2)
    yield ray


@pytest.fixture(scope="session")
def sample_run(sample_inputs, tmp_path_factory) -> Path:
    """One run of the sample pipeline; returns its output folder."""
    import ray

    from mmedc.config import load_recipe
    from mmedc.executor.ray_executor import start as init_ray
    from mmedc.engine.runner import run

    if not ray.is_initialized():
        init_ray(None, 2)
    out = tmp_path_factory.mktemp("run") / "out"
    run(load_recipe(sample_inputs), out, progress=False)
    return out


@pytest.fixture(scope="session")
def dev_data() -> Path:
    d = dev_data_dir()
    if d is None:
        pytest.skip("../shared/data not present (set MMEDC_DEV_DATA)")
    return d
