"""Shared test settings: a fixed terminal width and no colour, so output is stable."""

from __future__ import annotations

import gc
import os
from pathlib import Path

import pytest
from hypothesis import settings

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"

os.environ["COLUMNS"] = "200"
os.environ["NO_COLOR"] = "1"
os.environ.pop("FORCE_COLOR", None)

# CI machines have two cores and other work: hypothesis deadlines would only add noise.
settings.register_profile("winback", deadline=None, max_examples=100)
settings.load_profile("winback")


@pytest.fixture(autouse=True)
def _unfrozen():
    """A command run in the test process freezes the objects alive then (`settle_imports`);
    thawing them after each test leaves later garbage collectable, as in separate runs."""
    yield
    gc.unfreeze()


@pytest.fixture
def examples() -> Path:
    return EXAMPLES
