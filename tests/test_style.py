"""The code base passes ruff (lint and format), and the README documents every output column."""

from __future__ import annotations

import importlib.util
import subprocess
import sys

import pytest

from winback_cli.scan import CORE_COLUMNS

from .conftest import ROOT

HAS_RUFF = importlib.util.find_spec("ruff") is not None
PATHS = ["src", "tests", "bench", "examples"]


@pytest.mark.skipif(not HAS_RUFF, reason="ruff is installed with the test extra")
@pytest.mark.parametrize("args", [["check"], ["format", "--check"]])
def test_ruff(args):
    done = subprocess.run(
        [sys.executable, "-m", "ruff", *args, *PATHS],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_every_output_column_is_documented():
    readme = (ROOT / "README.md").read_text()
    missing = [c for c in CORE_COLUMNS if f"`{c}`" not in readme]
    assert not missing, f"document these columns in README.md: {missing}"
