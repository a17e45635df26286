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
source scripts/demo-lib.sh
demo_start demo-keep "${VOLCTL_SIM_FLAVOR:-solaris-11.4}"
zfs() { "$host/usr/sbin/zfs" "$@"; }
data() { "$dir/bin/volctl-sim" read "$host" pool/idisk0; }
guid=600144F0A613C900000054521D550001
views() { "$host/usr/sbin/stmfadm" list-view -l $guid; }
lu() { "$host/usr/sbin/stmfadm" list-lu -v $guid | grep -v 'Operational Status'; }
zone() {
  if [ "$flavor" = solaris-11.4 ]; then "$host/usr/sbin/zoneadm" -z kz1 list -p | cut -d: -f2,3
  else echo "no kernel zones on $flavor"; fi
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
