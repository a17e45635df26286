#!/usr/bin/env bash
# make demo-keep: a rollback that keeps what it replaces, and its undo
# (issue 22, docs/keep.md), on a fresh simulated Solaris host in a temp dir
# (kept; VOLCTL_DEMO_DIR chooses it, VOLCTL_SIM_FLAVOR the platform).
#   1. pool/idisk0 has snap1, then a newer snapshot snap2 and more data;
#   2. rollback --keep to snap1: no --destroy-newer, snap2 and the data
#      are kept in pool/idisk0.kept-1-...; the LU's GUID and views stay;
#   3. undo 1: the data written after snap2 is back, and snap2 with it;
#   4. kept lists both; forget 2 destroys what the undo kept.
# Each step checks what it shows, so the demo fails when the story does.
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${VOLCTL_DEMO_DIR:-$(mktemp -d /tmp/volctl-demo-keep.XXXXXX)}
mkdir -p "$dir/bin"
echo "== building into $dir/bin"
go build -o "$dir/bin/" ./cmd/volctld ./cmd/volctl ./cmd/volctl-sim
flavor=${VOLCTL_SIM_FLAVOR:-solaris-11.4}
host=$dir/host
rm -rf "$host" "$dir/journal.db" "$dir/volctld.sock"
echo "== seeding a simulated $flavor host at $host"
"$dir/bin/volctl-sim" seed "$host" --flavor "$flavor"
cat > "$dir/volctld.toml" <<TOML
platform = "solaris"
socket = "$dir/volctld.sock"
db = "$dir/journal.db"
retry_delay = "100ms"
initiators = ["iqn.1986-03.com.sun:01:sim-host1"]
[commands]
zfs = "$host/usr/sbin/zfs"
zpool = "$host/usr/sbin/zpool"
stmfadm = "$host/usr/sbin/stmfadm"
zoneadm = "$host/usr/sbin/zoneadm"
zonecfg = "$host/usr/sbin/zonecfg"
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
zfs() { "$host/usr/sbin/zfs" "$@"; }
data() { "$dir/bin/volctl-sim" read "$host" pool/idisk0; }
guid=600144F0A613C900000054521D550001
views() { "$host/usr/sbin/stmfadm" list-view -l $guid; }
lu() { "$host/usr/sbin/stmfadm" list-lu -v $guid | grep -v 'Operational Status'; }
zone() {
  if [ "$flavor" = solaris-11.4 ]; then "$host/usr/sbin/zoneadm" -z kz1 list -p | cut -d: -f2,3
  else echo "no kernel zones on $flavor"; fi
}
want() { # want WHAT GOT EXPECTED
  if [ "$2" != "$3" ]; then echo "DEMO FAILED: $1: got '$2', want '$3'"; exit 1; fi
  echo "   ok: $1: $2"
}

echo; echo "== before: pool/idisk0 after snap1, then snap2 and more writes"
volctl snapshot pool/idisk0@snap2 >/dev/null
"$dir/bin/volctl-sim" write "$host" pool/idisk0 "written after snap2"
zfs list -t all -r -o name,used,origin pool/idisk0
echo "   data: $(data)"
views0=$(views); lu0=$(lu); zone0=$(zone)
echo "   zone kz1: $zone0"

echo; echo "== volctl rollback pool/idisk0@snap1 --keep --dry-run: every command, nothing runs"
volctl rollback pool/idisk0@snap1 --keep --dry-run

echo; echo "== volctl rollback pool/idisk0@snap1 --keep --yes (no --destroy-newer: nothing is destroyed)"
volctl rollback pool/idisk0@snap1 --keep --yes
want "data at snap1" "$(data)" "kz1 disk at snap1"
kept1=$(zfs list -H -o name -t volume | grep '^pool/idisk0\.kept-1-')
echo "   the kept dataset: $kept1"
want "snap2 kept" "$(zfs list -H -o name -t snapshot "$kept1@snap2")" "$kept1@snap2"
want "kept dataset's origin" "$(zfs get -H -o value origin "$kept1")" "pool/idisk0@snap1"
want "LU identity" "$(lu)" "$lu0"
want "views" "$(views)" "$views0"
want "zone kz1" "$(zone)" "$zone0"

echo; echo "== volctl kept"
volctl kept

echo; echo "== volctl undo 1 --yes: the data and snap2 come back; what operation 1 put in place is kept in turn"
volctl undo 1 --yes
want "data after undo" "$(data)" "written after snap2"
want "snap2 back on the volume" "$(zfs list -H -o name -t snapshot pool/idisk0@snap2)" "pool/idisk0@snap2"
want "LU identity" "$(lu)" "$lu0"
want "views" "$(views)" "$views0"
want "zone kz1" "$(zone)" "$zone0"
zfs list -t all -r -o name,used,origin pool | grep idisk0

echo; echo "== volctl kept"
volctl kept

echo; echo "== volctl forget 2 (no consent: the plan, and which flag consents)"
volctl forget 2 || echo "   (exit $?)"
echo; echo "== volctl forget 2 --destroy-kept --yes"
out=$(volctl forget 2 --destroy-kept --yes); echo "$out"
want "forget says what it destroyed" "$(grep -c '^  destroyed: pool/idisk0\.kept-2-' <<<"$out")" "1"
want "forget keeps nothing" "$(grep -c 'keeps\|swaps back' <<<"$out" || true)" "0"
want "operation 2's kept dataset gone" "$(zfs list -H -o name -t volume | grep -c '^pool/idisk0\.kept-2-' || true)" "0"
volctl kept

echo; echo "== volctl history"
volctl history
echo; echo "Demo files are in $dir (daemon log: $dir/volctld.log)."
