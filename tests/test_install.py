"""The install of the README: a wheel built from the checkout, installed into a fresh venv,
runs `mastod --help` and `check-config` on the example config; and every systemd file passes
systemd's own checkers.

The wheel is built with --no-build-isolation (the test tools include setuptools) and the fresh
venv gets mastod from the wheel alone; its dependencies are lent from the test venv by a .pth
(the test never reaches the network), after checking that they are exactly the ones the wheel
declares, so `pip install` from PyPI resolves the same set.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import tomllib
import zipfile
from pathlib import Path

import pytest
from packaging.requirements import Requirement

REPO = Path(__file__).resolve().parent.parent
SYSTEMD = REPO / "systemd"
UNITS = sorted(p.name for p in SYSTEMD.iterdir() if p.suffix in (".service", ".socket"))
INSTALL_PREFIX = "/opt/mastod"


def run(*argv: str | Path, **kwargs: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(a) for a in argv],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        **kwargs,  # type: ignore[call-overload]
    )


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel, built from a copy of the sources (the checkout stays untouched)."""
    source = tmp_path_factory.mktemp("source")
    shutil.copytree(
        REPO / "mastod", source / "mastod", ignore=shutil.ignore_patterns("__pycache__")
    )
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(REPO / name, source / name)
    dist = tmp_path_factory.mktemp("dist")
    result = run(
        sys.executable,
        "-m",
        "pip",
        "wheel",
        "--no-deps",
        "--no-build-isolation",
        "--no-index",
        "--quiet",
        "--wheel-dir",
        dist,
        source,
    )
    assert result.returncode == 0, result.stderr
    (built,) = dist.glob("mastod-*.whl")
    return built


@pytest.fixture(scope="module")
def venv(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh venv (as /opt/mastod) with the wheel installed."""
    prefix = tmp_path_factory.mktemp("opt") / "mastod"
    result = run(sys.executable, "-m", "venv", "--without-pip", prefix)
    assert result.returncode == 0, result.stderr
    python = prefix / "bin" / "python"
    result = run(
        sys.executable, "-m", "pip", "--python", python, "install", "--no-index", "--no-deps",
        "--quiet", wheel,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    site = run(python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))")
    lent = Path(sysconfig.get_path("purelib"))  # the test venv's dependencies, see above
    (Path(site.stdout.strip()) / "_mastod_test_dependencies.pth").write_text(f"{lent}\n")
    return prefix


def test_wheel_declares_the_projects_dependencies(wheel: Path) -> None:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        (metadata,) = [n for n in names if n.endswith(".dist-info/METADATA")]
        lines = archive.read(metadata).decode().splitlines()
        (entry_points,) = [n for n in names if n.endswith(".dist-info/entry_points.txt")]
        scripts = archive.read(entry_points).decode()
    required = [line.split(": ", 1)[1] for line in lines if line.startswith("Requires-Dist: ")]
    plain = {str(Requirement(r)) for r in required if "extra ==" not in r}
    assert plain == {str(Requirement(d)) for d in project["dependencies"]}
    assert "mastod = mastod.cli:main" in scripts
    assert "mastod/py.typed" in names
    assert "mastod/sandbox/__init__.py" in names  # `serve --sandbox` works from an install
    assert not [n for n in names if n.startswith("tests/")]


def test_installed_mastod_runs_from_the_venv(venv: Path) -> None:
    code = "import mastod; print(mastod.__file__)"
    where = run(venv / "bin" / "python", "-c", code, cwd=venv)  # not the checkout's cwd
    assert where.returncode == 0, where.stderr
    assert Path(where.stdout.strip()).is_relative_to(venv)  # the wheel, not the checkout
    result = run(venv / "bin" / "mastod", "--help", cwd=venv)
    assert result.returncode == 0, result.stderr
    for command in ("serve", "check-config", "call", "listen"):
        assert command in result.stdout


def test_installed_mastod_checks_the_example_config(venv: Path, tmp_path: Path) -> None:
    # The example as shipped, with its system paths moved under tmp_path so that the check
    # does not depend on who runs the tests.
    text = (REPO / "config" / "mastod.example.yaml").read_text()
    for system in ("/var/lib/mastod", "/run/mastod", "/etc/mastod"):
        text = text.replace(system, str(tmp_path / system.strip("/").replace("/", "-")))
    config = tmp_path / "mastod.yaml"
    config.write_text(text)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MASTOD_", "CREDENTIALS_"))}
    result = run(venv / "bin" / "mastod", "check-config", "--config", config, env=env, cwd=venv)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().endswith("ok")


# --- systemd's checkers -----------------------------------------------------------------------


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="no systemd-analyze")
@pytest.mark.parametrize("unit", UNITS)
def test_unit_passes_systemd_analyze_verify(unit: str, venv: Path, tmp_path: Path) -> None:
    """Each unit as installed: ExecStart names the fresh venv's mastod (verify checks that it
    is executable); a template is checked as an instance."""
    for name in UNITS:
        text = (SYSTEMD / name).read_text().replace(INSTALL_PREFIX, str(venv))
        (tmp_path / name.replace("@.", "@demo.")).write_text(text)
    target = unit.replace("@.", "@demo.")
    result = run("systemd-analyze", "verify", tmp_path / target, cwd=tmp_path)
    # verify exits 0 even on unknown keys or bad values: its complaints name the file
    complaints = [line for line in (result.stdout + result.stderr).splitlines() if "mastod" in line]
    assert complaints == []
    assert result.returncode == 0, result.stderr


@pytest.mark.skipif(shutil.which("systemd-sysusers") is None, reason="no systemd-sysusers")
def test_sysusers_creates_the_mastod_user(tmp_path: Path) -> None:
    (tmp_path / "etc").mkdir()
    result = run("systemd-sysusers", f"--root={tmp_path}", SYSTEMD / "mastod.sysusers")
    if result.returncode != 0 and os.geteuid() != 0:
        pytest.skip(f"systemd-sysusers --root needs root here: {result.stderr.strip()}")
    assert result.returncode == 0, result.stderr
    passwd = (tmp_path / "etc" / "passwd").read_text().splitlines()
    users = {line.split(":")[0]: line.split(":") for line in passwd}
    groups = {line.split(":")[0] for line in (tmp_path / "etc" / "group").read_text().splitlines()}
    assert users["mastod"][5:] == ["/var/lib/mastod", "/usr/sbin/nologin"]
    assert "mastod" in groups
