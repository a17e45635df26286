#!/usr/bin/env bash
# make demo: build everything, start volctld on a fresh simulated Solaris host
# in a temp dir with the seed scenario, roll pool/idisk0 back to snap1 and show
# the result. The temp dir is kept (its path is printed) so you can look
# around; VOLCTL_DEMO_DIR chooses it. VOLCTL_SIM_FLAVOR picks the simulated
# platform: solaris-11.4 (the default, with kernel zone kz1) or illumos (the
# same LUs and views, no kernel zones).
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${VOLCTL_DEMO_DIR:-$(mktemp -d /tmp/volctl-demo.XXXXXX)}
mkdir -p "$dir/bin"
echo "== building into $dir/bin"
go build -o "$dir/bin/" ./cmd/volctld ./cmd/volctl ./cmd/volctl-sim
flavor=${VOLCTL_SIM_FLAVOR:-solaris-11.4}
host=$dir/host
rm -rf "$host" "$dir/journal.db" "$dir/volctld.sock"
echo "== seeding a simulated $flavor host at $host"
"$dir/bin/volctl-sim" seed "$host" --flavor "$flavor"
cat > "$dir/volctld.toml" <<TOML
# volctld on the simulated $flavor host at $host
platform = "solaris"
socket = "$dir/volctld.sock"
db = "$dir/journal.db"
retry_delay = "100ms"
# This host's own initiator: kz1 boots from the LU over iSCSI loopback.
initiators = ["iqn.1986-03.com.sun:01:sim-host1"]
# The simulated host's zvol devices (disk images): check-boot reads them.
zvol_device_dir = "$host/dev/zvol/rdsk"
[commands]
zfs = "$host/usr/sbin/zfs"
zpool = "$host/usr/sbin/zpool"
stmfadm = "$host/usr/sbin/stmfadm"
zoneadm = "$host/usr/sbin/zoneadm"
zonecfg = "$host/usr/sbin/zonecfg"
# You run the demo, so you operate this daemon.
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
sim() { "$dir/bin/volctl-sim" "$@"; }
zone() {
  if [ "$flavor" = solaris-11.4 ]; then echo "   zone: $("$host/usr/sbin/zoneadm" -z kz1 list -p)"
  else echo "   zones: none ($flavor has no kernel zones)"; fi
}

echo; echo "== volctl status: the daemon and what it probed on the host"
volctl status

echo; echo "== before: the volume, its LU, views and zone"
volctl show pool/idisk0
echo "   data on the zvol: $(sim read "$host" pool/idisk0)"
zone

echo; echo "== volctl rollback pool/idisk0@snap1"
volctl rollback pool/idisk0@snap1

echo; echo "== after"
volctl show pool/idisk0
echo "   data on the zvol: $(sim read "$host" pool/idisk0)"
zone
echo; echo "== stmfadm list-view -l 600144F0A613C900000054521D550001 (read from the host directly)"
"$host/usr/sbin/stmfadm" list-view -l 600144F0A613C900000054521D550001

echo; echo "== volctl history"
volctl history
echo; echo "== volctl op show 1"
volctl op show 1

echo; echo "== bad input is refused before anything runs"
for bad in 'pool/idisk0@snap1;rm -rf /' '' "pool/$(printf 'x%.0s' $(seq 260))@s" pool/idisk0@nope pool/nosuch@snap1; do
  printf '   volctl rollback %q -> ' "${bad:0:40}"
  volctl rollback "$bad" 2>&1 >/dev/null | head -1 || true # the refusal
done
echo; echo "Demo files are in $dir (daemon log: $dir/volctld.log)."
