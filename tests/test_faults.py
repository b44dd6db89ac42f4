"""Fault points kill a process only in the test environment; elsewhere they are nothing."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

PASS_THE_POINT = "from hovor.core import faults; faults.point('here'); print('alive')"


@pytest.mark.parametrize(("environment", "code"), [("test", 137), ("production", 0), ("development", 0)])
def test_a_fault_point_is_armed_only_in_the_test_environment(environment: str, code: int) -> None:
    env = {**os.environ, "HOVOR_ENVIRONMENT": environment, "HOVOR_FAULT_POINT": "here"}
    run = subprocess.run([sys.executable, "-c", PASS_THE_POINT], env=env, capture_output=True, timeout=60)
    assert run.returncode == code, run.stderr.decode()[-2000:]
    assert (b"alive" in run.stdout) is (code == 0)
