#!/usr/bin/env bash
# make demo: build everything, start volctld on a fresh simulated Solaris host
# in a temp dir with the seed scenario, roll pool/idisk0 back to snap1 and show
# the result. The temp dir is kept (its path is printed) so you can look
# around; VOLCTL_DEMO_DIR chooses it. VOLCTL_SIM_FLAVOR picks the simulated
# platform: solaris-11.4 (the default, with kernel zone kz1) or illumos (the
# same LUs and views, no kernel zones).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/demo-lib.sh
demo_start demo "${VOLCTL_SIM_FLAVOR:-solaris-11.4}"
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
