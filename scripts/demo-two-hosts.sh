#!/usr/bin/env bash
# make demo-two-hosts: build everything, seed two simulated Solaris 11.4
# hosts in a temp dir: a STORAGE host (pool/idisk0 behind its LU, targets
# tgt-a and tgt-b) and a ZONE host (kernel zone kz1 booting from that LU over
# iSCSI). Start a volctld on each, the storage host's driving the zone host's
# over mutual TLS 1.3 with a throw-away CA, and roll pool/idisk0 back to
# snap1 from the storage host: kz1 is detached and re-attached on the zone
# host. Then show what stops a rollback: the zone host's volctld down, and an
# initiator nobody expects logged in to a target that exposes the LU.
# Last, a rescue on the zone host: kz1's boot path broken by an import in a
# global zone, repaired in kernel zone kzrescue there, driven from the
# storage host (docs/rescue.md §4).
# The temp dir is kept (its path is printed); VOLCTL_DEMO_DIR chooses it.
# Exits 0 when every step behaves as expected, non-zero (with the daemons'
# logs) otherwise.
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${VOLCTL_DEMO_DIR:-$(mktemp -d /tmp/volctl-demo2.XXXXXX)}
mkdir -p "$dir/bin"
echo "== building into $dir/bin"
go build -o "$dir/bin/" ./cmd/volctld ./cmd/volctl ./cmd/volctl-sim ./cmd/volctl-devpki
storage=$dir/storage1 zone=$dir/kz-host1 pki=$dir/pki
rm -rf "$storage" "$zone" "$pki" "$dir"/*.db "$dir"/*.sock "$dir"/*.log
echo "== seeding the storage host at $storage and the zone host at $zone"
"$dir/bin/volctl-sim" seed-two-hosts "$storage" "$zone" --rescue-zone
echo "== a throw-away CA and certificates for storage1 and kz-host1 in $pki"
"$dir/bin/volctl-devpki" "$pki" storage1 kz-host1

# A free port on loopback for the zone host's mutual-TLS listener.
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
sock_s=$dir/storage1.sock sock_z=$dir/kz-host1.sock
cfg_s=$dir/storage1.toml cfg_z=$dir/kz-host1.toml
log_s=$dir/storage1.log log_z=$dir/kz-host1.log

commands() { # the [commands] table of the host at $1
  for c in zfs zpool stmfadm zoneadm zonecfg hostid; do echo "$c = \"$1/usr/sbin/$c\""; done
}
cat > "$cfg_z" <<TOML
# volctld on the zone host kz-host1 (simulated at $zone): it runs kz1 and
# answers the storage host's zone calls over mutual TLS.
platform = "solaris"
socket = "$sock_z"
db = "$dir/kz-host1.db"
retry_delay = "100ms"
# This host's iSCSI initiator (iscsiadm list initiator-node): it reports it
# to the storage host, whose check then expects its sessions.
initiators = ["iqn.1986-03.com.sun:01:kz-host1"]
[commands]
$(commands "$zone")
# The rescue imports kz1's pool inside kzrescue through it.
zlogin = "$zone/usr/sbin/zlogin"
# The listener the storage host calls: this host's server certificate, and
# the CA that signed the storage host's client certificate.
[tcp]
listen = "127.0.0.1:$port"
cert = "$pki/kz-host1.pem"
key = "$pki/kz-host1-key.pem"
client_ca = "$pki/ca.pem"
[roles]
operator_uids = [$(id -u)]
# The storage host's certificate (CN=storage1) may call the zone service,
# and nothing else.
peer_subjects = ["storage1"]
TOML
cat > "$cfg_s" <<TOML
# volctld on the storage host storage1 (simulated at $storage): it has the
# LU and runs the rollback; kz1 is on its peer kz-host1.
platform = "solaris"
socket = "$sock_s"
db = "$dir/storage1.db"
retry_delay = "100ms"
# No zone runs here, so no session is this host's own.
initiators = []
# The simulated host's zvol devices (disk images): check-boot reads them.
zvol_device_dir = "$storage/dev/zvol/rdsk"
[commands]
$(commands "$storage")
[roles]
operator_uids = [$(id -u)]
# The zone host's volctld: asked which of its zones use the LU, and driven
# to detach, attach and boot them.
[[peers]]
name = "kz-host1"
address = "127.0.0.1:$port"
ca = "$pki/ca.pem"          # signed kz-host1's server certificate
subject = "kz-host1"        # the CN its certificate must carry
cert = "$pki/storage1.pem"  # CN=storage1, in kz-host1's peer_subjects
key = "$pki/storage1-key.pem"
timeout = "5s"
TOML

volctl() { "$dir/bin/volctl" "$@"; }
volctl-sim() { "$dir/bin/volctl-sim" "$@"; }
pid_s= pid_z=
stop() { # stop the daemon whose pid variable is named $1
  local p=${!1}
  [ -n "$p" ] || return 0
  kill "$p" 2>/dev/null || true
  wait "$p" 2>/dev/null || true
  printf -v "$1" '%s' ''
}
trap 'stop pid_s; stop pid_z' EXIT
fail() {
  echo; echo "!! demo failed: $*"
  for l in "$log_z" "$log_s"; do echo "-- last lines of $l"; tail -n 30 "$l" 2>/dev/null || true; done
  exit 1
}
start() { # start NAME CONFIG SOCKET LOG PIDVAR
  "$dir/bin/volctld" -config "$2" 2>>"$4" &
  printf -v "$5" '%s' "$!"
  # status answers 0, or 20 while an operation needs attention: either way volctld is up
  for _ in $(seq 100); do
    volctl --socket "$3" status >/dev/null 2>&1 && return 0
    [ $? -eq 20 ] && return 0
    sleep 0.1
  done
  fail "the volctld of $1 did not answer on $3"
}
# run CMD...: print it, run it; it must succeed. Its output is kept for shows.
out=$dir/last.out
run() {
  local rc
  echo; echo "\$ $*"
  set +e; "$@" 2>&1 | tee "$out"; rc=${PIPESTATUS[0]}; set -e
  [ "$rc" = 0 ] || fail "'$*' exited $rc, want 0"
}
# shows TEXT: the last command's output has TEXT.
shows() { grep -qF -- "$1" "$out" || fail "the output above does not show '$1'"; }
# refused CODE WORD CMD...: print it, run it; it must exit CODE and say WORD.
refused() {
  local code=$1 word=$2 rc=0; shift 2
  echo; echo "\$ $*"
  "$@" >"$out" 2>&1 || rc=$?
  cat "$out"
  echo "   (exit $rc)"
  [ "$rc" = "$code" ] || fail "'$*' exited $rc, want $code"
  shows "$word"
}
zones() { echo "   kz1 on the zone host: $("$zone/usr/sbin/zoneadm" -z kz1 list -p)"; }

echo "== starting the zone host's volctld (mutual TLS on 127.0.0.1:$port), then the storage host's"
start kz-host1 "$cfg_z" "$sock_z" "$log_z" pid_z
start storage1 "$cfg_s" "$sock_s" "$log_s" pid_s
S=(--socket "$sock_s") Z=(--socket "$sock_z")

echo; echo "== before"
echo "   data on the zvol: $(volctl-sim read "$storage" pool/idisk0)"
zones

echo; echo "== the plan: the storage host asks kz-host1 which zones use the LU; the commands run there are marked [kz-host1]"
run volctl "${S[@]}" rollback pool/idisk0@snap1 --dry-run
shows "[kz-host1] $zone/usr/sbin/zoneadm -z kz1 detach"

echo; echo "== the rollback, from the storage host"
run volctl "${S[@]}" rollback pool/idisk0@snap1
shows "Operation 1 succeeded"
data=$(volctl-sim read "$storage" pool/idisk0)
echo "   data on the zvol: $data"
[ "$data" = "kz1 disk at snap1" ] || fail "the zvol's data is not the snapshot's"

echo; echo "== both journals have it: the storage host's operation (every command, with its host) and the zone host's audit"
run volctl "${S[@]}" op show 1
shows "[kz-host1] \$ $zone/usr/sbin/zoneadm -z kz1 attach -x initialize-hostdata"
run volctl "${Z[@]}" audit
shows "cert:CN=storage1"

echo; echo "== kz1 on the zone host: attached with fresh host data, so it boots from the rolled-back disk"
run "$zone/usr/sbin/zoneadm" list -cv
run "$zone/usr/sbin/zoneadm" -z kz1 boot
zones
"$zone/usr/sbin/zoneadm" -z kz1 list -p | grep -q ':kz1:running:' || fail "kz1 is not running"
run "$zone/usr/sbin/zoneadm" -z kz1 halt
zones

echo; echo "== the zone host's volctld is down: the storage host cannot tell whether a zone uses the LU, and refuses"
stop pid_z
refused 9 "peer kz-host1 did not answer" volctl "${S[@]}" rollback pool/idisk0@snap1
echo "   --skip-peer kz-host1 would go on without it (the plan says so); kz-host1's own sessions"
echo "   are then unexplained too, so that also takes --accept-sessions."

echo; echo "== it is back; an initiator nobody expects logs in to tgt-b, whose view exposes the LU to all hosts"
start kz-host1 "$cfg_z" "$sock_z" "$log_z" pid_z
run volctl-sim session add "$storage" iqn.1986-03.com.sun:02:tgt-b iqn.1991-05.com.microsoft:win1 win1
refused 9 "iqn.1991-05.com.microsoft:win1 (win1) can see LU 600144F0A613C900000054521D550001 of pool/idisk0" volctl "${S[@]}" rollback pool/idisk0@snap1
run volctl "${S[@]}" rollback pool/idisk0@snap1 --accept-sessions
shows "Operation 2 succeeded"
zones

echo; echo "== a rescue on the zone host: an admin imports kz1's root pool in the storage host's global zone and exports it"
run "$storage/usr/sbin/zpool" import
guid=$(awk '/^ *id:/ {print $2; exit}' "$out")
run "$storage/usr/sbin/zpool" import -N -f -t kz1boot "$guid"
run "$storage/usr/sbin/zpool" export kz1boot
refused 20 "kz1 will not boot" volctl "${S[@]}" check-boot kz1
refused 1 "kz1" "$zone/usr/sbin/zoneadm" -z kz1 boot

echo; echo "== the plan: kzrescue's zonecfg, zoneadm and zlogin run on kz-host1, through its volctld"
run volctl "${S[@]}" rescue kz1 --with kzrescue --dry-run
shows "on peer kz-host1"
shows "[kz-host1] $zone/usr/sbin/zlogin kzrescue /usr/sbin/zpool import -R /mnt/1 -N -f -t kz1 $guid"

echo; echo "== the rescue, from the storage host"
run volctl "${S[@]}" rescue kz1 --with kzrescue --yes
shows "succeeded"
run volctl "${S[@]}" check-boot kz1
run "$zone/usr/sbin/zoneadm" -z kz1 boot
zones
"$zone/usr/sbin/zoneadm" -z kz1 list -p | grep -q ':kz1:running:' || fail "kz1 is not running after the rescue"

echo; echo "Demo files are in $dir:"
echo "  configurations: $cfg_s, $cfg_z"
echo "  daemon logs:    $log_s, $log_z"
echo "  certificates:   $pki"
echo "  simulated hosts: $storage, $zone"
