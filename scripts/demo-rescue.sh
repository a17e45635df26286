#!/usr/bin/env bash
# make demo-rescue: the kernel zone root disk recovery (issue 23,
# docs/rescue.md) on a fresh simulated Solaris 11.4 host in a temp dir (kept;
# VOLCTL_DEMO_DIR chooses it): a pool import in the global zone rewrites
# kz1's root pool label (phys_path), kz1 no longer boots, volctl check-boot
# says why, volctl rescue kz1 --with kzrescue repairs it, kz1 boots. Each
# step checks what it shows, so the demo fails when the story does.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/demo-lib.sh
demo_start demo-rescue solaris-11.4 --rescue-zone
zoneadm() { "$host/usr/sbin/zoneadm" "$@"; }
code() { set +e; "$@" >/dev/null 2>&1; echo $?; set -e; }

echo; echo "== volctl check-boot kz1: the seed's label is the kernel zone's own"
volctl check-boot kz1
want "check-boot exit" "$(code volctl check-boot kz1)" 0

echo; echo "== an admin imports kz1's root pool in the global zone to change a file, and exports it"
"$dir/bin/volctl-sim" break-boot "$host" kz1
echo; echo "== zoneadm -z kz1 boot"
zoneadm -z kz1 boot || true
want "kz1 boots" "$(code zoneadm -z kz1 boot)" 1

echo; echo "== volctl check-boot kz1: why"
volctl check-boot kz1 || true
want "check-boot exit" "$(code volctl check-boot kz1)" 20

echo; echo "== volctl rescue kz1 --with kzrescue --dry-run: every command, nothing runs"
volctl rescue kz1 --with kzrescue --dry-run

echo; echo "== volctl rescue kz1 --with kzrescue --yes"
volctl rescue kz1 --with kzrescue --yes
want "check-boot exit" "$(code volctl check-boot kz1)" 0
want "kzrescue has no device id 0 left" "$("$host/usr/sbin/zonecfg" -z kzrescue info device | grep -c 'id: 0' || true)" 0

echo; echo "== zoneadm -z kz1 boot"
zoneadm -z kz1 boot
want "kz1" "$(zoneadm -z kz1 list -p | cut -d: -f2,3)" "kz1:running"

echo; echo "== volctl op show 1"
volctl op show 1
echo; echo "Demo files are in $dir (daemon log: $dir/volctld.log)."
