#!/usr/bin/env bash
# Build a Debian 12 (bookworm) root directory with the EPN appliance installed by the
# ansible role, as an image build does: no network to the device, no running systemd.
#
#   images/rootfs.sh --arch amd64|arm64 --out ROOT [--cache DIR] [--extra-vars FILE] [--no-role]
#
#   --arch        amd64 or arm64 (arm64 runs under qemu-user-static + binfmt_misc).
#   --out ROOT    the root directory to make; it must not exist or be empty.
#   --cache DIR   where to keep the debootstrap result (one tarball per arch per day, with
#                 apt's package lists and ansible-core already in it) and downloaded .deb
#                 files (default: build/cache of the checkout, which git ignores).
#   --extra-vars FILE   a YAML file of variables for the role (e.g. epn_config, epn_wifi_enabled),
#                 passed to ansible-playbook after image_build=true.
#   --no-role     stop after the base system (debootstrap + ansible-core): no wheelhouse,
#                 no playbook run.
#
# Steps: debootstrap --variant=minbase (mirror from /etc/apt/sources.list.d/debian.sources),
# /usr/sbin/policy-rc.d during the build (package scripts start no daemon), ansible-core
# from apt inside the root, the wheelhouse built on this host by scripts/wheelhouse.py
# (pip inside a chroot cannot reach the registry) and the ansible/ tree copied to
# ROOT/var/lib/epn-provision/, then inside the root (chroot):
#   ansible-playbook -c local -i /var/lib/epn-provision/inventory.yml site.yml -e image_build=true
# ROOT/var/lib/epn-provision/run.sh runs that playbook again (same variables); it is what the
# tests use for the second, no-change run. ansible-core and that directory stay in the root:
# an image build may remove them (`apt-get purge ansible-core; rm -r /var/lib/epn-provision`).
# Needs root, debootstrap, and for arm64 qemu-user-static and binfmt-support.
set -euo pipefail

HERE="$(cd "$(dirname "$0")/.." && pwd)"
ARCH="" OUT="" CACHE="$HERE/build/cache" EXTRA_VARS="" RUN_ROLE=1
usage() { sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
while [ $# -gt 0 ]; do
  case "$1" in
    --arch) ARCH="${2:-}"; shift 2 ;;
    --out) OUT="${2:-}"; shift 2 ;;
    --cache) CACHE="${2:-}"; shift 2 ;;
    --extra-vars) EXTRA_VARS="${2:-}"; shift 2 ;;
    --no-role) RUN_ROLE=0; shift ;;
    -h|--help) usage ;;
    *) echo "rootfs.sh: unknown argument: $1" >&2; usage ;;
  esac
done
case "$ARCH" in
  amd64) PY_ARCH=x86_64 ;;
  arm64) PY_ARCH=aarch64 ;;
  *) echo "rootfs.sh: --arch must be amd64 or arm64" >&2; exit 2 ;;
esac
[ -n "$OUT" ] || { echo "rootfs.sh: --out ROOT is required" >&2; exit 2; }
[ "$(id -u)" = 0 ] || { echo "rootfs.sh: must run as root (debootstrap, chroot, mounts)" >&2; exit 1; }
command -v debootstrap >/dev/null || { echo "rootfs.sh: debootstrap is not installed" >&2; exit 1; }
if [ -n "$EXTRA_VARS" ] && [ ! -f "$EXTRA_VARS" ]; then
  echo "rootfs.sh: $EXTRA_VARS: no such file" >&2; exit 2
fi
if [ -e "$OUT" ] && [ -n "$(ls -A "$OUT")" ]; then
  echo "rootfs.sh: $OUT exists and is not empty" >&2; exit 1
fi
mkdir -p "$OUT" "$CACHE"
OUT="$(cd "$OUT" && pwd)"
CACHE="$(cd "$CACHE" && pwd)"
log() { printf '[rootfs %s] %s\n' "$(date +%T)" "$*"; }

# The mirrors this host uses (bookworm and bookworm-security stanzas of debian.sources).
mirror_for() {
  python3 - "$1" <<'EOF'
import sys
wanted = sys.argv[1]
text = open("/etc/apt/sources.list.d/debian.sources", encoding="utf-8").read()
for stanza in text.split("\n\n"):
    fields = {}
    for line in stanza.splitlines():
        if ":" in line and not line.startswith("#"):
            key, value = line.split(":", 1)
            fields[key.strip()] = value.split()
    if wanted in fields.get("Suites", []) and fields.get("URIs"):
        print(fields["URIs"][0])
        break
EOF
}
MIRROR="$(mirror_for bookworm)"
SECURITY="$(mirror_for bookworm-security)"
MIRROR="${MIRROR:-http://deb.debian.org/debian}"
SECURITY="${SECURITY:-http://deb.debian.org/debian-security}"

MOUNTS=()
cleanup() {
  local i
  for ((i = ${#MOUNTS[@]} - 1; i >= 0; i--)); do
    umount -l "${MOUNTS[$i]}" 2>/dev/null || true
  done
  MOUNTS=()
}
trap cleanup EXIT
mount_into() {  # mount_into TARGET mount-arguments...
  local target="$1"; shift
  mkdir -p "$target"
  mount "$@" "$target"
  MOUNTS+=("$target")
}

enable_binfmt() {
  [ "$ARCH" = arm64 ] || return 0
  [ -x /usr/bin/qemu-aarch64-static ] || { echo "rootfs.sh: arm64 needs qemu-user-static" >&2; exit 1; }
  [ -e /proc/sys/fs/binfmt_misc/status ] || mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc
  update-binfmts --enable qemu-aarch64 2>/dev/null || true
  [ -e /proc/sys/fs/binfmt_misc/qemu-aarch64 ] || { echo "rootfs.sh: binfmt qemu-aarch64 not registered" >&2; exit 1; }
}

# The chroot needs /proc, /sys, /dev, a /run (tmpfs, so that systemd-resolved's stub
# resolv.conf symlink keeps name resolution working) and the shared apt cache.
enter_mounts() {
  mount_into "$OUT/proc" -t proc proc
  mount_into "$OUT/sys" -t sysfs sysfs
  mount_into "$OUT/dev" --bind /dev
  mount_into "$OUT/dev/pts" --bind /dev/pts
  mount_into "$OUT/run" -t tmpfs -o mode=0755 tmpfs
  mkdir -p "$OUT/run/systemd/resolve" "$CACHE/apt-$ARCH"
  cat /etc/resolv.conf > "$OUT/run/systemd/resolve/stub-resolv.conf"
  cp "$OUT/run/systemd/resolve/stub-resolv.conf" "$OUT/run/systemd/resolve/resolv.conf"
  [ -L "$OUT/etc/resolv.conf" ] || cat /etc/resolv.conf > "$OUT/etc/resolv.conf"
}

# Downloaded .deb files are shared between builds through the cache (copied, not bound:
# builds of the same arch may run at once, and apt locks its archives directory).
seed_debs() {
  local deb
  for deb in "$CACHE/apt-$ARCH"/*.deb; do
    [ -e "$deb" ] || continue
    ln "$deb" "$OUT/var/cache/apt/archives/" 2>/dev/null || cp "$deb" "$OUT/var/cache/apt/archives/"
  done
}
keep_debs() {
  local deb
  for deb in "$OUT/var/cache/apt/archives"/*.deb; do
    [ -e "$deb" ] || continue
    if [ ! -e "$CACHE/apt-$ARCH/${deb##*/}" ]; then
      cp "$deb" "$CACHE/apt-$ARCH/.${deb##*/}.part" && mv "$CACHE/apt-$ARCH/.${deb##*/}.part" "$CACHE/apt-$ARCH/${deb##*/}"
    fi
  done
  in_root apt-get clean
}

in_root() { LC_ALL=C.UTF-8 DEBIAN_FRONTEND=noninteractive chroot "$OUT" "$@"; }

build_base() {
  local tarball="$1"
  log "debootstrap bookworm $ARCH from $MIRROR"
  local include=systemd,systemd-sysv,dbus,python3,python3-apt,ca-certificates,apt-utils
  if [ "$ARCH" = arm64 ] && [ "$(dpkg --print-architecture)" != arm64 ]; then
    debootstrap --arch=arm64 --foreign --variant=minbase --include="$include" bookworm "$OUT" "$MIRROR" >/dev/null
    cp /usr/bin/qemu-aarch64-static "$OUT/usr/bin/"
    chroot "$OUT" /debootstrap/debootstrap --second-stage >/dev/null
  else
    debootstrap --arch="$ARCH" --variant=minbase --include="$include" bookworm "$OUT" "$MIRROR" >/dev/null
  fi
  cat > "$OUT/etc/apt/sources.list" <<EOF
deb $MIRROR bookworm main
deb $MIRROR bookworm-updates main
deb $SECURITY bookworm-security main
EOF
  printf '#!/bin/sh\n# Written by images/rootfs.sh: no daemon starts during an image build.\nexit 101\n' \
    > "$OUT/usr/sbin/policy-rc.d"
  chmod 755 "$OUT/usr/sbin/policy-rc.d"
  enter_mounts
  seed_debs
  log "apt-get update and ansible-core inside the root"
  in_root apt-get update -q >/dev/null
  in_root apt-get install -y -q --no-install-recommends ansible-core >/dev/null
  keep_debs
  cleanup
  log "caching the base root as $tarball"
  rm -f "$CACHE/base-bookworm-$ARCH-"*.tar
  tar -C "$OUT" --numeric-owner -cf "$tarball.part" .
  mv "$tarball.part" "$tarball"
}

enable_binfmt
TARBALL="$CACHE/base-bookworm-$ARCH-$(date +%Y%m%d).tar"
# One builder at a time makes the day's base root; the others wait and reuse it.
exec 9>"$CACHE/base-$ARCH.lock"
flock 9
if [ -f "$TARBALL" ]; then
  log "base root from the cache: $TARBALL"
  tar -C "$OUT" --numeric-owner -xpf "$TARBALL"
else
  build_base "$TARBALL"
fi
flock -u 9
[ -x "$OUT/usr/sbin/policy-rc.d" ] || { echo "rootfs.sh: base root lacks policy-rc.d" >&2; exit 1; }

if [ "$RUN_ROLE" = 0 ]; then
  log "base system ready in $OUT (--no-role)"
  exit 0
fi

PROVISION="$OUT/var/lib/epn-provision"
log "wheelhouse for $PY_ARCH"
PYTHON="${PYTHON:-$HERE/.venv/bin/python}"
"$PYTHON" "$HERE/scripts/wheelhouse.py" --arch "$PY_ARCH" --out "$HERE/build/wheels-$PY_ARCH" >/dev/null
mkdir -p "$PROVISION"
chmod 700 "$PROVISION"
rm -rf "$PROVISION/wheelhouse" "$PROVISION/ansible"
cp -r "$HERE/build/wheels-$PY_ARCH" "$PROVISION/wheelhouse"
cp -r "$HERE/ansible" "$PROVISION/ansible"
rm -rf "$PROVISION/ansible/inventory"
cat > "$PROVISION/inventory.yml" <<'EOF'
# Written by images/rootfs.sh: this machine, provisioned by itself.
appliances:
  hosts:
    localhost:
      ansible_connection: local
      ansible_python_interpreter: /usr/bin/python3
EOF
if [ -n "$EXTRA_VARS" ]; then cp "$EXTRA_VARS" "$PROVISION/extra-vars.yml"; else echo "{}" > "$PROVISION/extra-vars.yml"; fi
cat > "$PROVISION/run.sh" <<'EOF'
#!/bin/sh
# Apply the EPN roles to this root again, as images/rootfs.sh did (inside a chroot or an
# image build). Extra arguments go to ansible-playbook.
set -eu
cd /var/lib/epn-provision/ansible
export ANSIBLE_CONFIG=/var/lib/epn-provision/ansible/ansible.cfg ANSIBLE_FORCE_COLOR=0
# No package script may start a daemon while we are not the booted system.
if [ ! -e /usr/sbin/policy-rc.d ]; then
  printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
  chmod 755 /usr/sbin/policy-rc.d
  trap 'rm -f /usr/sbin/policy-rc.d' EXIT
fi
ansible-playbook -c local -i /var/lib/epn-provision/inventory.yml site.yml \
  -e image_build=true -e epn_wheelhouse=/var/lib/epn-provision/wheelhouse \
  -e @/var/lib/epn-provision/extra-vars.yml "$@"
EOF
chmod 755 "$PROVISION/run.sh"

enter_mounts
seed_debs
log "ansible-playbook inside the root (image_build=true)"
in_root /var/lib/epn-provision/run.sh
keep_debs
cleanup
rm -f "$OUT/usr/sbin/policy-rc.d"
log "root ready in $OUT"
