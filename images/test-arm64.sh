#!/bin/sh
# Check the Raspberry Pi SD-card image, then boot its root under qemu-system-aarch64.
#
#   images/test-arm64.sh [--rebuild] [--no-boot] [--port N] [--keep]
#
# Builds build/images/epn-arm64.img with images/build.sh if it is missing (--rebuild:
# always, reusing the root if complete). Checks without mounting anything: the MBR
# partitions (FAT boot, ext4 root, ext4 data), the Pi boot files in the FAT partition
# (mdir/mtype: firmware, DTBs of the Pi 3B+ and 4, kernel, initrd, config.txt, cmdline.txt
# with root=LABEL=epn-root), the root's fstab and enabled units (debugfs), the data
# partition's /var/lib/epn/data. The Pi firmware itself cannot be emulated: unless
# --no-boot, a copy of the image grown by 2 GiB is booted with qemu's generic `virt`
# machine, the kernel and initrd taken from the image's FAT partition (Debian's
# linux-image-arm64 runs on both), appliance port 8080 forwarded to 127.0.0.1:PORT
# (default 18481), until /healthz answers 200 and /setup/ answers; then the data
# partition must have grown. Prints the times. Needs root: qemu-system-arm mtools fdisk
# e2fsprogs curl.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
repo=$(dirname "$here")
img=$repo/build/images/epn-arm64.img
run=$repo/build/images/test-arm64
port=18481
rebuild=no
boot=yes
keep=no
while [ $# -gt 0 ]; do
    case $1 in
        --rebuild) rebuild=yes; shift ;;
        --no-boot) boot=no; shift ;;
        --port) port=$2; shift 2 ;;
        --keep) keep=yes; shift ;;
        *) sed -n '2,18p' "$0"; exit 2 ;;
    esac
done
fail() { echo "FAIL: $*"; [ -f "${serial:-/nonexistent}" ] && tail -n 40 "$serial"; exit 1; }
t0=$(date +%s)
if [ "$rebuild" = yes ] || [ ! -f "$img" ]; then
    "$here/build.sh" arm64 --reuse-root
fi
t_built=$(date +%s)

# Partitions: sfdisk -d lines "IMG1 : start=        2048, size= ..., type=c, bootable".
part_field() {  # $1 = partition number, $2 = start|size|type
    sfdisk -d "$img" | grep -E "^[^ ]*[^0-9]$1 :" | sed -n "s/.*$2= *\([0-9a-fA-F]*\).*/\1/p"
}
[ "$(part_field 1 type)" = c ] || fail "partition 1 is not FAT32 (LBA)"
sfdisk -d "$img" | grep -q 'bootable' || fail "partition 1 is not marked bootable"
if [ "$(part_field 2 type)" != 83 ] || [ "$(part_field 3 type)" != 83 ]; then
    fail "root/data partitions are not of type Linux (83)"
fi
boot_off=$(( $(part_field 1 start) * 512 ))
root_off=$(( $(part_field 2 start) * 512 ))
data_off=$(( $(part_field 3 start) * 512 ))
echo "partitions: boot@$boot_off root@$root_off data@$data_off"

# The FAT boot partition, read with mtools at its offset.
fat="$img@@$boot_off"
mdir -i "$fat" -b :: > /dev/null || fail "boot partition is not a FAT filesystem"
config=$(mtype -i "$fat" ::/config.txt) || fail "boot partition lacks config.txt"
kernel=$(echo "$config" | sed -n 's/^kernel=//p')
initrd=$(echo "$config" | sed -n 's/^initramfs \([^ ]*\).*/\1/p')
[ -n "$kernel" ] && [ -n "$initrd" ] || fail "config.txt names no kernel or no initramfs"
# Pi 3B+ (BCM2837) and Pi 4 (BCM2711) with the upstream kernel's device trees.
for f in bootcode.bin start.elf fixup.dat start4.elf fixup4.dat cmdline.txt \
        bcm2837-rpi-3-b-plus.dtb bcm2711-rpi-4-b.dtb "$kernel" "$initrd"; do
    mdir -i "$fat" -b "::/$f" > /dev/null 2>&1 || fail "boot partition lacks $f"
done
cmdline=$(mtype -i "$fat" ::/cmdline.txt)
echo "cmdline.txt: $cmdline"
case $cmdline in *root=LABEL=epn-root*) ;; *) fail "cmdline.txt does not name the root label" ;; esac
echo "config.txt: $(echo "$config" | grep -v '^#' | grep . | tr '\n' ' ')"

# The root and data partitions, read with debugfs at their offsets.
in_ext4() { debugfs -R "$2" "$img?offset=$1" 2>/dev/null; }
fstab=$(in_ext4 "$root_off" 'cat /etc/fstab')
echo "$fstab" | grep -q 'LABEL=epn-data *\/var\/lib\/epn ' || fail "fstab lacks the data partition"
echo "$fstab" | grep -q 'LABEL=EPN-BOOT *\/boot\/firmware ' || fail "fstab lacks the boot partition"
wants=$(in_ext4 "$root_off" 'ls -l /etc/systemd/system/multi-user.target.wants')
for unit in epn-serve.service epn-worker.service; do
    echo "$wants" | grep -q "$unit" || fail "$unit is not enabled in the root"
done
in_ext4 "$root_off" 'ls -l /etc/systemd/system/sysinit.target.wants' | grep -q epn-grow-data \
    || fail "epn-grow-data.service is not enabled"
in_ext4 "$data_off" 'ls -l /' | grep -q ' data' || fail "data partition lacks data/"
echo "image checks: OK ($(( $(stat -c %s "$img") / 1048576 )) MiB image)"
[ "$boot" = yes ] || { echo "PASS (no boot): build=$(( t_built - t0 ))s"; exit 0; }

# Boot the root under the generic arm64 virtual machine.
. "$here/test-lib.sh"
grown_copy "$img"
mcopy -o -i "$fat" "::/$kernel" "$run/vmlinuz"
mcopy -o -i "$fat" "::/$initrd" "$run/initrd.img"
stop_on_exit
t_boot=$(date +%s)
qemu-system-aarch64 -M virt -cpu cortex-a72 -smp 2 -m 1536 -display none -monitor none \
    -serial "file:$serial" -kernel "$run/vmlinuz" -initrd "$run/initrd.img" \
    -append "root=LABEL=epn-root ro console=ttyAMA0,115200" \
    -drive "file=$disk,format=raw,if=virtio" \
    -netdev "user,id=n0,hostfwd=tcp:127.0.0.1:$port-:8080" -device virtio-net-pci,netdev=n0 &
qemu_pid=$!
echo "booting under qemu-system-aarch64 (tcg), serial console in $serial"
limit=$(( $(date +%s) + 1800 ))
until healthy; do
    kill -0 "$qemu_pid" 2>/dev/null || fail "qemu exited"
    [ "$(date +%s)" -lt "$limit" ] || fail "/healthz did not answer 200 within 1800 s"
    sleep 5
done
t_healthy=$(date +%s)
setup_status=$(curl -s -o /dev/null -w '%{http_code}' -m 30 "http://127.0.0.1:$port/setup/")
[ "$setup_status" = 200 ] || fail "/setup/ answered $setup_status"
# The one-time code, shown above the login prompt by agetty (epn-setup-code.service).
limit=$(( $(date +%s) + 300 ))
until grep -aq 'EPN: first-boot setup' "$serial"; do
    [ "$(date +%s)" -lt "$limit" ] || fail "no setup code on the serial console"
    sleep 5
done
sleep 2
show_setup_code
stop_qemu
check_data_grown
echo "PASS: build=$(( t_built - t0 ))s boot-to-healthz=$(( t_healthy - t_boot ))s"
