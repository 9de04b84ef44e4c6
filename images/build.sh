#!/bin/sh
# Build a disk image of the EPN appliance, without loop mounts.
#
#   images/build.sh amd64|arm64 [--out FILE] [--root DIR] [--reuse-root] [--no-role]
#
#   amd64: raw disk for a VM (UEFI; GRUB on a FAT EFI partition), default
#          build/images/epn-amd64.img
#   arm64: SD card for a Raspberry Pi 3B+/4 (Debian's raspi-firmware), default
#          build/images/epn-arm64.img
#
# Steps: images/rootfs.sh (debootstrap + the appliance role, image_build=true, vars from
# images/image-vars.yml) -> images/image-layer.sh (kernel, firmware, fstab, first-boot
# growth) -> partitions made from files: FAT by mkfs.vfat + mcopy, ext4 by mkfs.ext4 -d,
# placed with dd into a table written by sfdisk.
#   --root DIR    use (and keep) this root instead of build/images/ARCH/root
#   --reuse-root  do not rebuild the root if it was completed before (stamp file)
#                 (roots live in ${EPN_IMAGE_WORK:-/var/tmp/epn-images}/ARCH/root)
#   --no-role     passed to rootfs.sh (a bare Debian root; for developing images/)
# Needs root and: debootstrap qemu-user-static binfmt-support mtools dosfstools fdisk
# e2fsprogs grub-efi-amd64-bin (amd64).
set -eu

here=$(cd "$(dirname "$0")" && pwd)
repo=$(dirname "$here")
arch=${1:-}
case $arch in amd64|arm64) shift ;; *) sed -n '2,20p' "$0"; exit 2 ;; esac
out=$repo/build/images/epn-$arch.img
# The root tree stays outside the checkout: a Debian root holds symlinks to / and, while
# it is built, a mounted /proc, which every directory walk of the checkout would follow
# (setuptools' package discovery in `pip wheel .` did).
work_base=${EPN_IMAGE_WORK:-/var/tmp/epn-images}
root=$work_base/$arch/root
reuse=no
role_flag=""
while [ $# -gt 0 ]; do
    case $1 in
        --out) out=$2; shift 2 ;;
        --root) root=$2; reuse=yes; shift 2 ;;
        --reuse-root) reuse=yes; shift ;;
        --no-role) role_flag=--no-role; shift ;;
        *) echo "unknown option: $1" >&2; exit 2 ;;
    esac
done
. "$here/labels.sh"
work=$work_base/$arch/parts
mkdir -p "$work" "$(dirname "$out")"
stamp() { printf '%s %s\n' "$(date -u +%H:%M:%S)" "$*"; }
t0=$(date +%s)

# 1. The root, with the appliance installed by the ansible role.
if [ "$reuse" = yes ] && [ -f "$root/.epn-image-layer-done" ]; then
    stamp "reusing root $root"
else
    if [ "$reuse" != yes ] || [ ! -d "$root/usr" ]; then
        stamp "rootfs.sh --arch $arch"
        # A crashed chroot step could leave the host's /dev bound inside: never rm -rf that.
        if grep -q " $root/" /proc/mounts; then
            echo "build.sh: something is still mounted under $root; unmount it first" >&2
            exit 1
        fi
        rm -rf "$root"
        # Run a private copy: bash reads a script as it goes, and an edit of rootfs.sh
        # during a long (emulated) build would otherwise break this one.
        rootfs_copy=$here/.rootfs-$$.sh
        cp "$here/rootfs.sh" "$rootfs_copy"
        # shellcheck disable=SC2086
        bash "$rootfs_copy" --arch "$arch" --out "$root" --cache "$repo/build/cache" \
            --extra-vars "$here/image-vars.yml" $role_flag || { rm -f "$rootfs_copy"; exit 1; }
        rm -f "$rootfs_copy"
    fi
    stamp "image layer"
    "$here/image-layer.sh" "$arch" "$root"
    touch "$root/.epn-image-layer-done"
fi
t_root=$(date +%s)

# 2. Boot partition (FAT): EFI GRUB (amd64) or the Pi firmware tree (arm64).
stamp "boot partition"
boot=$work/boot.vfat
rm -f "$boot"
truncate -s "${BOOT_MIB}M" "$boot"
mkfs.vfat -F 32 -n "$LABEL_BOOT" "$boot" >/dev/null
if [ "$arch" = amd64 ]; then
    grub-mkstandalone -O x86_64-efi -o "$work/BOOTX64.EFI" \
        --modules="part_msdos part_gpt ext2 search search_label linux normal echo" \
        "boot/grub/grub.cfg=$here/grub-amd64.cfg"
    mmd -i "$boot" ::/EFI ::/EFI/BOOT
    mcopy -i "$boot" "$work/BOOTX64.EFI" ::/EFI/BOOT/BOOTX64.EFI
else
    fw=$root/boot/firmware
    for f in start4.elf bootcode.bin config.txt cmdline.txt; do
        [ -f "$fw/$f" ] || { echo "missing $fw/$f (raspi-firmware hook?)" >&2; exit 1; }
    done
    mcopy -s -i "$boot" "$fw"/* ::/
fi

# 3. Data partition from the root's /var/lib/epn; the root keeps an empty mount point.
stamp "data partition"
data_img=$work/data.ext4
stash=$work/var-lib-epn
rm -rf "$stash" "$data_img"
mkdir -p "$root/var/lib/epn"
mv "$root/var/lib/epn" "$stash"
mkdir "$root/var/lib/epn"
chown --reference="$stash" "$root/var/lib/epn"
chmod --reference="$stash" "$root/var/lib/epn"
restore_data() {
    if [ -d "$stash" ]; then rmdir "$root/var/lib/epn" && mv "$stash" "$root/var/lib/epn"; fi
}
trap restore_data EXIT INT TERM
# -T default -b 4096: not the "small" profile (1 KiB blocks) that a 256 MiB filesystem
# would get, since this one grows to the size of the card.
truncate -s "${DATA_MIB}M" "$data_img"
mkfs.ext4 -q -F -T default -b 4096 -L "$LABEL_DATA" -d "$stash" "$data_img"

# 4. Root partition: what the root holds plus a quarter, at least 512 MiB free.
stamp "root partition"
used_mib=$(du -sxm "$root" | cut -f1)
root_mib=$(( used_mib + used_mib / 4 + 512 ))
root_img=$work/root.ext4
rm -f "$root_img"
truncate -s "${root_mib}M" "$root_img"
mkfs.ext4 -q -F -T default -b 4096 -L "$LABEL_ROOT" -d "$root" "$root_img"
restore_data
trap - EXIT INT TERM

# 5. The disk: MBR (the Pi firmware needs it; UEFI accepts it), boot, root, data last.
stamp "disk"
total_mib=$(( 1 + BOOT_MIB + root_mib + DATA_MIB ))
rm -f "$out"
truncate -s "${total_mib}M" "$out"
boot_type=ef
[ "$arch" = arm64 ] && boot_type=c
sfdisk -q "$out" <<EOF
label: dos
start=1MiB, size=${BOOT_MIB}MiB, type=$boot_type, bootable
size=${root_mib}MiB, type=83
size=${DATA_MIB}MiB, type=83
EOF
dd if="$boot" of="$out" bs=1M seek=1 conv=notrunc,sparse status=none
dd if="$root_img" of="$out" bs=1M seek=$(( 1 + BOOT_MIB )) conv=notrunc,sparse status=none
dd if="$data_img" of="$out" bs=1M seek=$(( 1 + BOOT_MIB + root_mib )) conv=notrunc,sparse \
    status=none
rm -f "$boot" "$root_img" "$data_img"
t_end=$(date +%s)
stamp "done: $out ($total_mib MiB; root $(( t_root - t0 )) s, image $(( t_end - t_root )) s)"
