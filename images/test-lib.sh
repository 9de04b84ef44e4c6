# Shared by images/test-amd64.sh and images/test-arm64.sh (sourced; POSIX sh).
# Expects: $port (forwarded to the guest's 8080), $qemu_pid, $serial, $disk, $keep.

stop_qemu() {
    if [ -n "$qemu_pid" ] && kill -0 "$qemu_pid" 2>/dev/null; then
        kill "$qemu_pid"; wait "$qemu_pid" 2>/dev/null || true
    fi
    qemu_pid=""
}

stop_on_exit() {
    qemu_pid=""
    trap 'stop_qemu; [ "$keep" = yes ] || rm -f "$disk"' EXIT INT TERM
}

healthy() { [ "$(curl -s -o /dev/null -w '%{http_code}' -m 5 "http://127.0.0.1:$port/healthz")" = 200 ]; }

# A copy of the image, grown by 2 GiB: the first boot must give the data partition the rest.
grown_copy() {  # $1 = image
    mkdir -p "$run"
    disk=$run/disk.img
    serial=$run/serial.log
    rm -f "$disk" "$serial"
    cp --sparse=always "$1" "$disk"
    truncate -s +2G "$disk"
}

show_setup_code() {
    echo "--- console lines about the setup:"
    tr -d '\r' < "$serial" | grep -a -A6 'EPN: first-boot setup' | tail -n 7
}

# After power-off: the data partition (3rd) reaches the end of the disk and its ext4 was grown.
check_data_grown() {
    disk_sectors=$(( $(stat -c %s "$disk") / 512 ))
    end=$(sfdisk -d "$disk" | awk -F'[=,]' '/3 : /{print $2 + $4}')
    echo "data partition ends at sector $end of $disk_sectors"
    [ "$end" -ge $(( disk_sectors - 2048 )) ] || fail "data partition was not grown"
    start=$(sfdisk -d "$disk" | awk -F'[=,]' '/3 : /{print $2+0}')
    blocks=$(dumpe2fs -h "$disk?offset=$(( start * 512 ))" 2>/dev/null \
        | awk -F: '/^Block count/{gsub(/ /,"",$2); print $2}')
    data_mib=$(( ${blocks:-0} * 4 / 1024 ))
    echo "data filesystem: $data_mib MiB"
    [ "$data_mib" -gt 2048 ] || fail "the data filesystem was not grown (resize2fs)"
}
