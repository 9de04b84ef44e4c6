#!/bin/sh
# Boot the amd64 appliance image in qemu-system-x86_64 and wait for a working appliance.
#
#   images/test-amd64.sh [--rebuild] [--direct-kernel] [--restore] [--port N] [--keep]
#
# Builds build/images/epn-amd64.img with images/build.sh if it is missing (--rebuild:
# always, reusing the root if complete), boots a copy grown by 2 GiB under UEFI (OVMF,
# GRUB from the image; --direct-kernel: -kernel/-initrd taken from the root instead),
# KVM first and software emulation (tcg) when KVM shows no kernel output in 60 s, with
# the appliance's port 8080 forwarded to 127.0.0.1:PORT (default 18480). Passes when:
# /healthz answers 200, /setup/ answers, the one-time setup code is on the serial
# console, and (after power-off) the data partition has grown to the end of the disk.
# --restore: moving an EPN to a new card instead: a backup made here by `epn backup`
# (.venv) is put on a FAT "USB stick" labelled EPN-BACKUP (epn-restore/*.epnbak +
# passphrase.txt) attached to the VM; the first boot must restore it: the EPN's name on
# its home page, no setup wizard, no setup code.
# Prints the times. Needs root: qemu-system-x86 ovmf curl fdisk e2fsprogs.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
repo=$(dirname "$here")
img=$repo/build/images/epn-amd64.img
run=$repo/build/images/test-amd64
port=18480
rebuild=no
direct=no
keep=no
restore=no
while [ $# -gt 0 ]; do
    case $1 in
        --rebuild) rebuild=yes; shift ;;
        --direct-kernel) direct=yes; shift ;;
        --restore) restore=yes; shift ;;
        --port) port=$2; shift 2 ;;
        --keep) keep=yes; shift ;;
        *) sed -n '2,14p' "$0"; exit 2 ;;
    esac
done
t0=$(date +%s)
if [ "$rebuild" = yes ] || [ ! -f "$img" ]; then
    "$here/build.sh" amd64 --reuse-root
fi
t_built=$(date +%s)

. "$here/test-lib.sh"
grown_copy "$img"
stick=""
if [ "$restore" = yes ]; then
    name="EPN restored $(date +%H%M%S)"
    rm -rf "$run/old" "$run/usb.img" "$run"/*.epnbak
    "$repo/.venv/bin/epn" init --data "$run/old" --name "$name" > /dev/null
    echo "a passphrase for the test" > "$run/passphrase.txt"
    "$repo/.venv/bin/epn" backup --data "$run/old" --passphrase-file "$run/passphrase.txt" \
        "$run/epn-backup-test.epnbak"
    stick=$run/usb.img
    truncate -s 64M "$stick"
    mkfs.vfat -n EPN-BACKUP "$stick" > /dev/null
    mmd -i "$stick" ::/epn-restore
    mcopy -i "$stick" "$run/epn-backup-test.epnbak" "$run/passphrase.txt" ::/epn-restore/
fi

stop_on_exit

boot() {  # $1 = kvm|tcg
    mode=$1
    : > "$serial"
    set -- -accel "$mode" -m 1536 -smp 2 -display none -monitor none -serial "file:$serial" \
        -drive "file=$disk,format=raw,if=virtio" ${stick:+-drive file=$stick,format=raw,if=virtio} \
        -netdev "user,id=n0,hostfwd=tcp:127.0.0.1:$port-:8080" -device virtio-net-pci,netdev=n0
    if [ "$direct" = yes ]; then
        root=${EPN_IMAGE_WORK:-/var/tmp/epn-images}/amd64/root
        set -- "$@" -kernel "$root/vmlinuz" -initrd "$root/initrd.img" \
            -append "root=LABEL=epn-root ro console=tty0 console=ttyS0,115200n8"
    else
        set -- "$@" -bios /usr/share/ovmf/OVMF.fd
    fi
    qemu-system-x86_64 "$@" 2> "$run/qemu-$mode.log" &
    qemu_pid=$!
}

wait_for() {  # $1 = seconds, $2... = command; true when the command succeeds in time
    limit=$(( $(date +%s) + $1 )); shift
    while [ "$(date +%s)" -lt "$limit" ]; do
        kill -0 "$qemu_pid" 2>/dev/null || return 1
        "$@" && return 0
        sleep 2
    done
    return 1
}
# KVM inside this kind of VM can fail at once ("KVM internal error") or hang silently.
kvm_settled() { grep -q 'Linux version' "$serial" || grep -q 'KVM internal error' "$run/qemu-kvm.log"; }

accel=tcg
t_boot=$(date +%s)
if [ -w /dev/kvm ]; then
    boot kvm
    wait_for 60 kvm_settled || true
    if grep -q 'Linux version' "$serial"; then accel=kvm; else
        echo "KVM: no kernel output ($(grep -m1 -o 'KVM internal error' "$run/qemu-kvm.log" \
            || echo 'nothing in 60 s')), falling back to software emulation (tcg)"
        stop_qemu
    fi
fi
if [ "$accel" = tcg ]; then t_boot=$(date +%s); boot tcg; fi
echo "booting with $accel, serial console in $serial"

fail() { echo "FAIL: $*"; tail -n 40 "$serial"; exit 1; }
wait_for 600 healthy || fail "/healthz did not answer 200 within 600 s"
t_healthy=$(date +%s)
if [ "$restore" = yes ]; then
    curl -s -m 30 "http://127.0.0.1:$port/" | grep -q "$name" || fail "home page lacks '$name'"
    setup_status=$(curl -s -o /dev/null -w '%{http_code}' -m 10 "http://127.0.0.1:$port/setup/")
    [ "$setup_status" != 200 ] || fail "the setup wizard is still open after the restore"
    ! grep -aq 'EPN: first-boot setup' "$serial" || fail "a setup code was shown"
    stop_qemu
    echo "PASS (restore): accel=$accel boot-with-restore-to-healthz=$(( t_healthy - t_boot ))s"
    exit 0
fi
setup_status=$(curl -s -o /dev/null -w '%{http_code}' -m 10 "http://127.0.0.1:$port/setup/")
case $setup_status in 200) ;; *) fail "/setup/ answered $setup_status" ;; esac
# The setup code is printed on the console by epn-setup-code.service (agetty issue).
code_shown() { grep -qi 'setup' "$serial" && grep -q '/setup' "$serial"; }
wait_for 60 code_shown || fail "no setup code on the serial console"
show_setup_code

# Power off, then check the data partition (3rd) was grown to the end of the disk.
stop_qemu
check_data_grown

echo "PASS: accel=$accel build=$(( t_built - t0 ))s boot-to-healthz=$(( t_healthy - t_boot ))s"
