# demo-lib.sh: what the single-host demos share, sourced by demo.sh,
# demo-keep.sh and demo-rescue.sh after `set -euo pipefail` and a cd to the
# checkout.
#   demo_start NAME FLAVOR [SEED FLAGS...]
# builds the binaries into a temp dir (kept; VOLCTL_DEMO_DIR chooses it),
# seeds a simulated FLAVOR host there, writes volctld's configuration,
# starts volctld (stopped when the script exits) and sets dir, host,
# flavor, VOLCTL_SOCKET and the functions volctl and want.
demo_start() {
  local name=$1
  flavor=$2
  shift 2
  dir=${VOLCTL_DEMO_DIR:-$(mktemp -d "/tmp/volctl-$name.XXXXXX")}
  mkdir -p "$dir/bin"
  echo "== building into $dir/bin"
  go build -o "$dir/bin/" ./cmd/volctld ./cmd/volctl ./cmd/volctl-sim
  host=$dir/host
  rm -rf "$host" "$dir/journal.db" "$dir/volctld.sock"
  echo "== seeding a simulated $flavor host at $host${*:+ ($*)}"
  "$dir/bin/volctl-sim" seed "$host" --flavor "$flavor" "$@"
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
zlogin = "$host/usr/sbin/zlogin"
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
}

volctl() { "$dir/bin/volctl" "$@"; }

want() { # want WHAT GOT EXPECTED
  if [ "$2" != "$3" ]; then echo "DEMO FAILED: $1: got '$2', want '$3'"; exit 1; fi
  echo "   ok: $1: $2"
}
