#!/bin/sh
# Installs the system packages the system tests need (Chromium for the browser tests,
# PostgreSQL for the hub's database test, debootstrap/ansible for provisioning),
# when running as root on Debian. Elsewhere it says what is missing; those tests then
# skip with a reason (and fail under CI=true, where nothing may skip).
set -eu
# With arguments: those packages instead (the image targets of the Makefile).
# debootstrap, systemd-container, ansible-core, ansible-lint: the provisioning tests (issue 9)
# build a Debian root, apply the ansible roles inside it and boot it with systemd-nspawn;
# mtools, dosfstools, fdisk: the image layout test (partitions built without mounting).
PACKAGES="${*:-chromium postgresql cups cups-client cups-bsd cups-filters nftables iproute2 dnsmasq hostapd conntrack curl debootstrap systemd-container ansible-core ansible-lint mtools dosfstools fdisk}"
missing=""
for package in $PACKAGES; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing="$missing $package"
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "Installing system packages for the tests:$missing"
  apt-get update -q >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $missing >/dev/null
else
  echo "Not installed (needs root on Debian):$missing; the tests needing them will skip."
fi
