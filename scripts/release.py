#!/usr/bin/env python3
"""Make and sign appliance releases (on a host, never on an appliance).

    .venv/bin/python scripts/release.py keygen --out ~/epn-release.key
    .venv/bin/python scripts/release.py build --arch aarch64 --out dist/ [--wheelhouse DIR]
    .venv/bin/python scripts/release.py sign --key ~/epn-release.key dist/

`keygen` writes an Ed25519 private key (0600) and KEYFILE.pub, the base64 public key
that goes into every appliance's `update.trusted_keys`. `build` makes
`epn-<version>-<arch>.tar` from a wheelhouse (scripts/wheelhouse.py builds one when
--wheelhouse is not given). `sign` writes `<tar>.sig` beside every release of DIR and
`latest-<arch>.json`, the index of the newest one per arch. Publish the folder as it is
(any static web server, or a USB stick) and point `update.url` at it.
"""

from __future__ import annotations

import argparse
import hashlib
import subprocess
import sys
from pathlib import Path

from packaging.utils import canonicalize_name, parse_wheel_filename

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from appliance.federation.keys import (  # noqa: E402
    b64, fingerprint, key_id, load_key, public_bytes, sign, write_new_key,
)
from appliance.update.bundle import (  # noqa: E402
    ARCHES, FORMAT, RELEASE_CONTEXT, REQUIREMENTS, Index, ReleaseError, build_tar,
    index_name, parse_version, read_manifest, release_name, sha256_file,
)

DISTRIBUTION = "epn-appliance"
TARGET_PYTHON = "3.11"


def keygen(out: Path) -> str:
    """Write a new private key to `out` (0600, never overwritten) and `out.pub`."""
    if out.exists():
        sys.exit(f"{out} exists: a release key is never overwritten")
    key = write_new_key(out)
    public = b64(public_bytes(key))
    Path(f"{out}.pub").write_text(public + "\n", encoding="ascii")
    print(f"Release key {key_id(public_bytes(key))}, fingerprint {fingerprint(public_bytes(key))}")
    print("Put this public key in update.trusted_keys of every appliance:")
    return public


def pinned(wheelhouse: Path) -> list[tuple[str, str]]:
    """(name, version) of every line of the wheelhouse's requirements.txt."""
    pins = []
    for line in (wheelhouse / REQUIREMENTS).read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            name, _, version = line.partition("==")
            pins.append((canonicalize_name(name.split("[")[0]), version.strip()))
    return pins


def _fits(wheel: Path, arch: str) -> bool:
    _, _, _, tags = parse_wheel_filename(wheel.name)
    return any(tag.platform == "any" or tag.platform.endswith(arch) for tag in tags)


def select_wheels(wheelhouse: Path, arch: str) -> dict[str, Path]:
    """The one wheel of each pinned requirement for `arch`; stale ones are left out."""
    chosen: dict[str, Path] = {}
    wheels = sorted(wheelhouse.glob("*.whl"))
    for name, version in pinned(wheelhouse):
        found = [w for w in wheels if _fits(w, arch)
                 and canonicalize_name(parse_wheel_filename(w.name)[0]) == name
                 and str(parse_wheel_filename(w.name)[1]) == version]
        if len(found) != 1:
            sys.exit(f"{wheelhouse}: {len(found)} wheels of {name}=={version} for {arch} (need one)")
        chosen[found[0].name] = found[0]
    return chosen


def schema_of_wheel(wheel: Path, version: str) -> int:
    """appliance.migrations.LATEST as the release's own code says (imported from the wheel),
    after checking that its `appliance.__version__` is the wheel's version."""
    code = ("import sys; sys.path.insert(0, sys.argv[1]); import appliance, appliance.migrations as m; "
            "assert m.__file__.startswith(sys.argv[1]), m.__file__; print(appliance.__version__, m.LATEST)")
    done = subprocess.run([sys.executable, "-c", code, str(wheel.resolve())], capture_output=True,
                          text=True, check=True, cwd="/")
    said, latest = done.stdout.split()
    if said != version:
        sys.exit(f"{wheel.name}: appliance/__init__.py says {said}, pyproject.toml {version}: "
                 "bump both")
    return int(latest)


def build(arch: str, out: Path, wheelhouse: Path | None) -> Path:
    if wheelhouse is None:
        sys.path.insert(0, str(ROOT / "scripts"))
        import wheelhouse as maker

        wheelhouse = ROOT / "build" / f"wheels-{arch}"
        maker.build(arch, wheelhouse, hub=False)
    wheels = select_wheels(wheelhouse, arch)
    versions = dict(pinned(wheelhouse))
    version = versions[canonicalize_name(DISTRIBUTION)]
    parse_version(version)
    own = next(path for path in wheels.values()
               if canonicalize_name(parse_wheel_filename(path.name)[0]) == DISTRIBUTION)
    files = {name: path.read_bytes() for name, path in wheels.items()}
    files[REQUIREMENTS] = (wheelhouse / REQUIREMENTS).read_bytes()
    manifest = {
        "format": FORMAT, "version": version, "arch": arch, "schema": schema_of_wheel(own, version),
        "python": TARGET_PYTHON,
        "files": {name: hashlib.sha256(data).hexdigest() for name, data in sorted(files.items())},
    }
    out.mkdir(parents=True, exist_ok=True)
    target = out / release_name(version, arch)
    partial = target.with_name(target.name + ".partial")
    partial.write_bytes(build_tar(files, manifest))
    partial.replace(target)
    print(f"Release {version} for {arch}: {len(wheels)} wheels, schema {manifest['schema']}, "
          f"{target.stat().st_size} bytes")
    return target


def sign_folder(key_file: Path, folder: Path) -> list[Path]:
    """Sign every release of `folder`; write the index of the newest one per arch."""
    key = load_key(key_file)
    newest: dict[str, tuple[tuple[int, ...], Index]] = {}
    releases = sorted(folder.glob("epn-*.tar"))
    if not releases:
        sys.exit(f"{folder}: no epn-*.tar release to sign")
    for tar in releases:
        try:
            manifest = read_manifest(tar)
        except ReleaseError as error:
            sys.exit(str(error))
        if tar.name != release_name(manifest["version"], manifest["arch"]):
            sys.exit(f"{tar.name}: its manifest says {manifest['version']} for {manifest['arch']}")
        signature = sign(key, RELEASE_CONTEXT, tar.read_bytes())
        Path(f"{tar}.sig").write_text(signature + "\n", encoding="ascii")
        index = Index(version=manifest["version"], arch=manifest["arch"], file=tar.name,
                      sha256=sha256_file(tar), size=tar.stat().st_size,
                      schema=int(manifest["schema"]), signature=signature,
                      key_id=key_id(public_bytes(key)))
        rank = parse_version(index.version)
        if index.arch not in newest or rank > newest[index.arch][0]:
            newest[index.arch] = (rank, index)
        print(f"signed {tar.name}")
    written = []
    for arch, (_, index) in sorted(newest.items()):
        path = folder / index_name(arch)
        path.write_text(index.to_json(), encoding="utf-8")
        written.append(path)
    return written


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    keygen_cmd = commands.add_parser("keygen", help="Make a release signing key.")
    keygen_cmd.add_argument("--out", type=Path, required=True)
    build_cmd = commands.add_parser("build", help="Make a release tar from a wheelhouse.")
    build_cmd.add_argument("--arch", choices=ARCHES, required=True)
    build_cmd.add_argument("--out", type=Path, required=True)
    build_cmd.add_argument("--wheelhouse", type=Path, default=None)
    sign_cmd = commands.add_parser("sign", help="Sign the releases of a folder and index them.")
    sign_cmd.add_argument("--key", type=Path, required=True)
    sign_cmd.add_argument("folder", type=Path)
    args = parser.parse_args()
    if args.command == "keygen":
        print(keygen(args.out))
    elif args.command == "build":
        print(build(args.arch, args.out, args.wheelhouse))
    else:
        for path in sign_folder(args.key, args.folder):
            print(path)


if __name__ == "__main__":
    main()
