#!/bin/sh
# linux-deps.sh: install, as root, what the linux-tgt real-stack tests need
# (internal/linuxstack, daemon/linuxtgt): zfs-fuse (ZFS without a kernel
# module: works in containers and VMs that cannot load zfs.ko), tgt (tgtd,
# tgtadm), libiscsi-bin (iscsi-inq, iscsi-readcapacity16) and qemu-utils with
# qemu-block-extra (qemu-io and qemu-img with the libiscsi driver: the
# initiator that writes and reads LUs over iSCSI).
#
# Idempotent: installs only what is missing. It does not start any daemon:
# the tests start a private zfs-fuse and tgtd themselves (there is no systemd
# here; Debian's units are left as they are). Debian 12 package names.
set -eu

if [ "$(id -u)" -ne 0 ]; then
	echo "linux-deps.sh: run as root" >&2
	exit 1
fi

# libxml2-utils: xmllint, to check the SMF manifest.
pkgs="zfs-fuse tgt libiscsi-bin qemu-utils qemu-block-extra libxml2-utils"
missing=""
for p in $pkgs; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
		missing="$missing $p"
	fi
done

if [ -n "$missing" ]; then
	echo "linux-deps.sh: installing$missing"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	# shellcheck disable=SC2086 # word splitting of the package list is wanted
	apt-get install -y -qq --no-install-recommends $missing
else
	echo "linux-deps.sh: all of $pkgs are installed"
fi

# What the tests need beyond the packages.
for f in /usr/sbin/zfs-fuse /usr/sbin/zfs /usr/sbin/zpool /usr/sbin/tgtd /usr/sbin/tgtadm \
	/usr/bin/iscsi-inq /usr/bin/iscsi-readcapacity16 /usr/bin/qemu-io /usr/bin/qemu-img; do
	[ -x "$f" ] || { echo "linux-deps.sh: $f missing after install" >&2; exit 1; }
done
if [ ! -c /dev/fuse ]; then
	echo "linux-deps.sh: warning: /dev/fuse is missing; zfs-fuse cannot mount here (modprobe fuse?)" >&2
fi
# qemu's iSCSI driver is a module of qemu-block-extra.
if ! /usr/bin/qemu-img --help 2>/dev/null | grep -q iscsi; then
	echo "linux-deps.sh: warning: qemu-img lists no iscsi driver" >&2
fi
echo "linux-deps.sh: ok"
