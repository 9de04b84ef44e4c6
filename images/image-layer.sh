#!/bin/sh
# Turn a Debian root made by images/rootfs.sh (appliance role applied) into the root of
# a bootable disk: kernel + initramfs, Pi firmware (arm64), first-boot growth of the data
# partition, SD-card protection (noatime, /tmp in RAM; the volatile journal is the role's
# epn_volatile_logs), fstab by label, a machine id per card. Idempotent: running it twice on one root changes nothing more.
#
#   images/image-layer.sh amd64|arm64 ROOT
#
# Called by images/build.sh; needs root. Runs apt-get inside ROOT through chroot (arm64
# through qemu-user-static/binfmt). Mounts only proc/sys/dev inside ROOT, never a loop.
set -eu

arch=${1:?usage: image-layer.sh amd64|arm64 ROOT}
root=${2:?usage: image-layer.sh amd64|arm64 ROOT}
here=$(cd "$(dirname "$0")" && pwd)
. "$here/labels.sh"

mounted=""
cleanup() {
    for m in $mounted; do umount -l "$root/$m" 2>/dev/null || true; done
    if [ -n "$resolv_link" ]; then
        rm -f "$root/etc/resolv.conf"; ln -s "$resolv_link" "$root/etc/resolv.conf"
    fi
    if [ -f "$root/usr/sbin/policy-rc.d.epn-image" ]; then
        rm -f "$root/usr/sbin/policy-rc.d" "$root/usr/sbin/policy-rc.d.epn-image"
    fi
}
trap cleanup EXIT INT TERM
resolv_link=""

in_root() { chroot "$root" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin \
    DEBIAN_FRONTEND=noninteractive LC_ALL=C.UTF-8 "$@"; }

mount_api() {
    for m in proc sys dev; do
        if ! mountpoint -q "$root/$m"; then
            case $m in
                proc) mount -t proc proc "$root/proc" ;;
                sys) mount -t sysfs sysfs "$root/sys" ;;
                dev) mount --bind /dev "$root/dev" ;;
            esac
            mounted="$m $mounted"
        fi
    done
}

# Package scripts must not start daemons on the build host.
if [ ! -e "$root/usr/sbin/policy-rc.d" ]; then
    printf '#!/bin/sh\nexit 101\n' > "$root/usr/sbin/policy-rc.d"
    chmod 755 "$root/usr/sbin/policy-rc.d"
    touch "$root/usr/sbin/policy-rc.d.epn-image"
fi
# Name resolution for apt inside the root. Never write through a symlink in ROOT (an
# absolute one would point at the host's file): set it aside, put it back at the end.
resolv_link=""
if [ -L "$root/etc/resolv.conf" ]; then
    resolv_link=$(readlink "$root/etc/resolv.conf")
    rm "$root/etc/resolv.conf"
fi
cp -L /etc/resolv.conf "$root/etc/resolv.conf"
mount_api

# raspi-firmware lives in non-free-firmware (as does the Pi's Wi-Fi firmware).
sources=$root/etc/apt/sources.list
if [ -f "$sources" ] && ! grep -q non-free-firmware "$sources"; then
    sed -i 's/^\(deb .* bookworm\(-updates\|-security\)\? main\)$/\1 non-free-firmware/' "$sources"
fi
# netbase (/etc/services, /etc/protocols) came with ansible-core: name it, so that
# removing ansible-core below keeps it.
common="initramfs-tools udev kmod cloud-guest-utils fdisk e2fsprogs netbase"
case $arch in
    amd64) pkgs="linux-image-amd64 $common" ;;
    arm64)
        # raspi-firmware's kernel hook writes config.txt/cmdline.txt from this file.
        mkdir -p "$root/etc/default" "$root/boot/firmware"
        cat > "$root/etc/default/raspi-firmware" <<EOF
# Written by images/image-layer.sh; read by raspi-firmware's kernel hooks.
ROOTPART=LABEL=$LABEL_ROOT
# The Pi 3B+/4 UART (GPIO 14/15) is ttyS1 with Debian's kernel; the last one, the screen,
# is /dev/console.
CONSOLES="ttyS1,115200 tty0"
# One image for the 3B+ and the 4: a cma= argument makes a Pi 4 unbootable, so none.
CMA=0
KERNEL_ARCH="arm64"
EOF
        pkgs="linux-image-arm64 raspi-firmware firmware-brcm80211 dosfstools $common" ;;
    *) echo "unknown arch: $arch" >&2; exit 2 ;;
esac
# fstab first: initramfs-tools puts fsck for the root filesystem (after a power cut)
# into the initrd only when fstab names it.
# Lines the role wrote (the backup USB stick) are kept; ours replace any earlier ones.
kept=$(grep -v -E '^[[:space:]]*(#|$)' "$root/etc/fstab" 2>/dev/null \
    | grep -v -E "[[:space:]](/|/var/lib/epn|$BOOT_MOUNT|/tmp)[[:space:]]" || true)
cat > "$root/etc/fstab" <<EOF
# Written by images/image-layer.sh. noatime: fewer writes to the SD card.
LABEL=$LABEL_ROOT  /             ext4   noatime,errors=remount-ro  0 1
LABEL=$LABEL_DATA  /var/lib/epn  ext4   noatime,nodev,nosuid       0 2
LABEL=$LABEL_BOOT  $BOOT_MOUNT  vfat   noatime,umask=0077,nofail  0 2
tmpfs              /tmp          tmpfs  nosuid,nodev,size=25%      0 0
EOF
[ -z "$kept" ] || printf '%s\n' "$kept" >> "$root/etc/fstab"
in_root apt-get update -q
# shellcheck disable=SC2086
# The files written above (/etc/default/raspi-firmware) are ours: keep them when a
# package ships its own version (dpkg would otherwise ask, and fail without a terminal).
in_root apt-get install -y -q --no-install-recommends \
    -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold $pkgs

# Our files: the grow unit. (The network by DHCP, the volatile journal and time sync come
# from the role: images/image-vars.yml.)
cp -a "$here/overlay/." "$root/"
echo epn > "$root/etc/hostname"
grep -q '127.0.1.1' "$root/etc/hosts" 2>/dev/null || echo '127.0.1.1	epn' >> "$root/etc/hosts"
in_root systemctl enable epn-grow-data.service epn-first-boot.service
# No secret may be shared by every card of the image: epn-first-boot.service makes them.
# Keep only the role's config.yaml in the data directory; drop the backup passphrase.
data=$root/var/lib/epn/data
if [ -d "$data" ]; then
    find "$data" -mindepth 1 -maxdepth 1 ! -name config.yaml -exec rm -rf {} +
fi
rm -f "$root/etc/epn/backup-passphrase"
# agetty prints /run/issue.d only when /etc/issue is absent (Debian ships one): point
# /etc/issue.d at the setup code's issue file (a dangling link once setup is done).
mkdir -p "$root/etc/issue.d"
ln -sfn /run/issue.d/epn-setup.issue "$root/etc/issue.d/epn-setup.issue"
# Every card gets its own machine id at its first boot.
: > "$root/etc/machine-id"
rm -f "$root/var/lib/dbus/machine-id"

if [ "$arch" = arm64 ]; then
    # Re-run the firmware hook now that ROOTPART is set (it copies the kernel, the
    # initrd and the DTBs into /boot/firmware and writes config.txt and cmdline.txt).
    kver=$(basename "$(ls -d "$root"/lib/modules/* | sort -V | tail -n 1)")
    chroot "$root" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin \
        DEB_MAINT_PARAMS=configure /etc/kernel/postinst.d/z50-raspi-firmware "$kver"
fi
# The provisioning tree (wheelhouse, playbooks) and ansible-core served the build only;
# appliances update themselves with `epn update` (signed releases).
if [ -d "$root/var/lib/epn-provision" ] && [ "${EPN_IMAGE_KEEP_PROVISION:-0}" != 1 ]; then
    rm -rf "$root/var/lib/epn-provision"
    in_root apt-get purge -y -q --autoremove ansible-core
fi
in_root apt-get clean
rm -rf "$root/var/lib/apt/lists/"* "$root/var/cache/apt/"*.bin
