#!/usr/bin/env bash
# make demo-rescue: the kernel zone root disk recovery (issue 23,
# docs/rescue.md) on a fresh simulated Solaris 11.4 host in a temp dir (kept;
# VOLCTL_DEMO_DIR chooses it): a pool import in the global zone rewrites
# kz1's root pool label (phys_path), kz1 no longer boots, volctl check-boot
# says why, volctl rescue kz1 --with kzrescue repairs it, kz1 boots. Each
# step checks what it shows, so the demo fails when the story does.
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${VOLCTL_DEMO_DIR:-$(mktemp -d /tmp/volctl-demo-rescue.XXXXXX)}
mkdir -p "$dir/bin"
echo "== building into $dir/bin"
go build -o "$dir/bin/" ./cmd/volctld ./cmd/volctl ./cmd/volctl-sim
host=$dir/host
rm -rf "$host" "$dir/journal.db" "$dir/volctld.sock"
echo "== seeding a simulated solaris-11.4 host at $host, with the rescue zone kzrescue"
"$dir/bin/volctl-sim" seed "$host" --flavor solaris-11.4 --rescue-zone
cat > "$dir/volctld.toml" <<TOML
platform = "solaris"
socket = "$dir/volctld.sock"
db = "$dir/journal.db"
retry_delay = "100ms"
initiators = ["iqn.1986-03.com.sun:01:sim-host1"]
# where volctld reads a zvol's raw device (check-boot): the simulator's images
zvol_device_dir = "$host/dev/zvol/rdsk"
[commands]
zfs = "$host/usr/sbin/zfs"
zpool = "$host/usr/sbin/zpool"
stmfadm = "$host/usr/sbin/stmfadm"
zoneadm = "$host/usr/sbin/zoneadm"
zonecfg = "$host/usr/sbin/zonecfg"
zlogin = "$host/usr/sbin/zlogin"
[roles]
operator_uids = [$(id -u)]
TOML
"$dir/bin/volctld" -config "$dir/volctld.toml" 2>"$dir/volctld.log" &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null || true' EXIT
for _ in $(seq 100); do [ -S "$dir/volctld.sock" ] && break; sleep 0.1; done
[ -S "$dir/volctld.sock" ] || { echo "volctld did not start:"; cat "$dir/volctld.log"; exit 1; }
export VOLCTL_SOCKET=$dir/volctld.sock
volctl() { "$dir/bin/volctl" "$@"; }
zoneadm() { "$host/usr/sbin/zoneadm" "$@"; }
want() { # want WHAT GOT EXPECTED
  if [ "$2" != "$3" ]; then echo "DEMO FAILED: $1: got '$2', want '$3'"; exit 1; fi
  echo "   ok: $1: $2"
}
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
