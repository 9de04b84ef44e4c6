"""images/build.sh lays out a bootable disk from a root, without mounting anything.

The slow parts (debootstrap, the role, booting in qemu) are the on-demand targets
`images/test-amd64.sh` and `images/test-arm64.sh`; here a tiny stand-in root (marked as
already prepared) goes through the partitioning step of both architectures, and the
result is read back with sfdisk, mtools and debugfs, as a disk reader would.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
BUILD = REPO / "images" / "build.sh"
TOOLS = {
    "sfdisk": "fdisk",
    "mkfs.vfat": "dosfstools",
    "mcopy": "mtools",
    "mkfs.ext4": "e2fsprogs",
    "debugfs": "e2fsprogs",
}

pytestmark = pytest.mark.system


def need_tools(*extra: tuple[str, str]) -> None:
    if os.geteuid() != 0:
        pytest.skip("images/build.sh needs root (file ownership in the ext4 partitions)")
    for tool, package in [*TOOLS.items(), *extra]:
        if shutil.which(tool) is None:
            pytest.skip(f"{tool} not installed (Debian package {package})")


def fake_root(tmp_path: Path, arch: str) -> Path:
    """A root as image-layer.sh leaves it: data dir with config.yaml, Pi boot files."""
    root = tmp_path / "root"
    data = root / "var/lib/epn/data"
    data.mkdir(parents=True)
    (data / "config.yaml").write_text("site:\n  name: ''\n")
    os.chown(data, 4242, 4242)
    (root / "var/lib/epn").chmod(0o750)
    (root / "etc").mkdir()
    (root / "etc/fstab").write_text("LABEL=epn-data /var/lib/epn ext4 noatime 0 2\n")
    if arch == "arm64":
        firmware = root / "boot/firmware"
        firmware.mkdir(parents=True)
        for name in ("start4.elf", "bootcode.bin", "vmlinuz", "initrd.img"):
            (firmware / name).write_bytes(b"x" * 1000)
        (firmware / "config.txt").write_text("arm_64bit=1\n")
        (firmware / "cmdline.txt").write_text("console=tty1 root=LABEL=epn-root rw\n")
    (root / ".epn-image-layer-done").touch()
    return root


def build(tmp_path: Path, arch: str) -> tuple[Path, Path]:
    root = fake_root(tmp_path, arch)
    image = tmp_path / f"epn-{arch}.img"
    env = {**os.environ, "EPN_IMAGE_WORK": str(tmp_path / "work"), "DATA_MIB": "32"}
    subprocess.run(
        ["sh", str(BUILD), arch, "--root", str(root), "--out", str(image)],
        check=True,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    return root, image


def partitions(image: Path) -> list[dict[str, str]]:
    """sfdisk's dump of the image: one dict (start, size, type, bootable) per partition."""
    dump = subprocess.run(
        ["sfdisk", "-d", str(image)], check=True, capture_output=True, text=True
    ).stdout
    parts = []
    for line in dump.splitlines():
        if " : " not in line:
            continue
        fields = {}
        for item in line.split(" : ", 1)[1].split(","):
            key, _, value = item.strip().partition("=")
            fields[key.strip()] = value.strip() or "yes"
        parts.append(fields)
    return parts


def debugfs(image: Path, part: dict[str, str], request: str) -> str:
    offset = int(part["start"]) * 512
    return subprocess.run(
        ["debugfs", "-R", request, f"{image}?offset={offset}"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout


def test_pi_card_has_fat_firmware_root_and_data_partition_last(tmp_path: Path) -> None:
    need_tools()
    root, image = build(tmp_path, "arm64")
    boot, rootfs, data = partitions(image)
    assert (boot["type"], boot.get("bootable")) == ("c", "yes")
    assert (rootfs["type"], data["type"]) == ("83", "83")
    assert int(data["start"]) + int(data["size"]) == image.stat().st_size // 512
    fat = f"{image}@@{int(boot['start']) * 512}"
    listing = subprocess.run(
        ["mdir", "-i", fat, "-b", "::"], check=True, capture_output=True, text=True
    ).stdout
    assert {"::/start4.elf", "::/cmdline.txt", "::/config.txt", "::/vmlinuz"} <= set(
        listing.split()
    )
    cmdline = subprocess.run(
        ["mtype", "-i", fat, "::/cmdline.txt"], check=True, capture_output=True, text=True
    ).stdout
    assert "root=LABEL=epn-root" in cmdline
    # /var/lib/epn is an empty mount point on the root partition; its files, with their
    # owner, are on the data partition.
    assert "config.yaml" not in debugfs(image, rootfs, "ls /var/lib/epn/data")
    assert "data" not in debugfs(image, rootfs, "ls /var/lib/epn").split()
    assert "config.yaml" in debugfs(image, data, "ls /data")
    assert "User:  4242" in debugfs(image, data, "stat /data")
    assert "epn-data" in debugfs(image, data, "stats")
    # The root directory given to the build is left as it was.
    assert (root / "var/lib/epn/data/config.yaml").is_file()


def test_vm_disk_boots_grub_from_an_efi_partition(tmp_path: Path) -> None:
    need_tools(("grub-mkstandalone", "grub-efi-amd64-bin"))
    _, image = build(tmp_path, "amd64")
    boot, rootfs, _ = partitions(image)
    assert boot["type"] == "ef"
    fat = f"{image}@@{int(boot['start']) * 512}"
    listing = subprocess.run(
        ["mdir", "-i", fat, "-b", "::/EFI/BOOT"], check=True, capture_output=True, text=True
    ).stdout
    assert "::/EFI/BOOT/BOOTX64.EFI" in listing.split()
    assert "epn-root" in debugfs(image, rootfs, "stats")
