#!/usr/bin/env python3
"""Build a wheelhouse: the appliance's wheel and every runtime dependency, pinned to the
versions of the development virtualenv, for one target machine (x86_64 or aarch64).

    .venv/bin/python scripts/wheelhouse.py --arch aarch64 --out build/wheels-aarch64 [--hub]

The target installs offline from it (pip inside a chroot cannot reach the registry):

    python3 -m venv /opt/epn/releases/VERSION
    /opt/epn/releases/VERSION/bin/pip install --no-index --find-links DIR -r DIR/requirements.txt

The same wheelhouse feeds the ansible role, the image builds and signed releases
(`epn release build`). Downloads are cached: files already in DIR are not fetched again.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from importlib import metadata
from pathlib import Path

from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parent.parent
DISTRIBUTION = "epn-appliance"
TRANSLATIONS = ROOT / "appliance" / "web" / "translations"
# What the wheel is built from, beside the appliance/ package.
SOURCE_FILES = ("pyproject.toml", "README.md")
PLATFORMS = {
    "x86_64": ("manylinux2014_x86_64", "manylinux_2_17_x86_64", "manylinux_2_28_x86_64"),
    "aarch64": ("manylinux2014_aarch64", "manylinux_2_17_aarch64", "manylinux_2_28_aarch64"),
}
# Debian 12's Python is 3.11; markers are evaluated for it, on Linux.
TARGET_PYTHON = "3.11"


def runtime_pins(extras: set[str]) -> dict[str, str]:
    """Name -> installed version for the appliance's runtime requirements, transitively."""
    environment = default_environment()
    environment.update({"python_version": TARGET_PYTHON, "sys_platform": "linux",
                        "platform_system": "Linux", "os_name": "posix"})
    pins: dict[str, str] = {}
    todo: list[tuple[str, set[str]]] = [(DISTRIBUTION, extras)]
    while todo:
        name, wanted = todo.pop()
        dist = metadata.distribution(name)
        for line in dist.requires or []:
            requirement = Requirement(line)
            marker = requirement.marker
            if marker is not None and not any(
                marker.evaluate({**environment, "extra": extra}) for extra in (wanted or {""})
            ):
                continue
            key = canonicalize_name(requirement.name)
            if key in pins:
                continue
            try:
                pins[key] = metadata.version(requirement.name)
            except metadata.PackageNotFoundError:
                sys.exit(f"{requirement.name} is required but not installed in this virtualenv: "
                         "run `make install` first")
            todo.append((requirement.name, set(requirement.extras)))
    pins.pop(canonicalize_name(DISTRIBUTION), None)
    return pins


def _present(out: Path, name: str, version: str) -> bool:
    """A wheel of exactly this name and version is already in the wheelhouse."""
    prefix = f"{name.replace('-', '_')}-{version}-"
    return any(wheel.name.lower().startswith(prefix) for wheel in out.glob("*.whl"))


def compile_catalogues() -> None:
    """The .mo files are build products (not in git): the wheel must carry them."""
    for po in TRANSLATIONS.glob("*/LC_MESSAGES/messages.po"):
        mo = po.with_suffix(".mo")
        if not mo.exists() or mo.stat().st_mtime < po.stat().st_mtime:
            subprocess.run([sys.executable, "-m", "babel.messages.frontend", "-q", "compile",
                            "-i", str(po), "-o", str(mo)], check=True)


def build(arch: str, out: Path, hub: bool) -> Path:
    out.mkdir(parents=True, exist_ok=True)
    compile_catalogues()
    version = metadata.version(DISTRIBUTION)
    for old in out.glob("epn_appliance-*.whl"):
        old.unlink()
    with tempfile.TemporaryDirectory() as scratch:
        # Build from a copy of the package alone: setuptools would otherwise walk the whole
        # checkout, build/ included, where an image root may lie with /proc mounted.
        source = Path(scratch) / "src"
        source.mkdir()
        for name in SOURCE_FILES:
            shutil.copy2(ROOT / name, source / name)
        shutil.copytree(ROOT / "appliance", source / "appliance",
                        ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--disable-pip-version-check",
                        "--no-deps", "-w", str(out), str(source)], check=True)
    pins = runtime_pins({"postgres"} if hub else set())
    command = [sys.executable, "-m", "pip", "download", "-q", "--disable-pip-version-check",
               "--no-deps", "--only-binary=:all:", "--python-version", TARGET_PYTHON,
               "--implementation", "cp", "-d", str(out)]
    for platform in PLATFORMS[arch]:
        command += ["--platform", platform]
    missing = [f"{name}=={pin}" for name, pin in sorted(pins.items()) if not _present(out, name, pin)]
    if missing:  # pip asks the index about every pin, even cached ones: only when needed
        subprocess.run(command + missing, check=True)
    extra = "[postgres]" if hub else ""
    lines = [f"epn-appliance{extra}=={version}"] + [f"{n}=={v}" for n, v in sorted(pins.items())]
    requirements = out / "requirements.txt"
    requirements.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return requirements


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--arch", choices=sorted(PLATFORMS), default="x86_64")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--hub", action="store_true", help="Add the hub's PostgreSQL driver.")
    args = parser.parse_args()
    print(build(args.arch, args.out, args.hub))


if __name__ == "__main__":
    main()
