package kz

import "bytes"

// IsKeyError reports a kernel-zone encryption-key failure on attach/boot
// (zones.md §5.3): "Encryption key is incorrect.  See solaris-kz(7) ... update
// /etc/zones/keys/<zone>". zones.md advises matching defensively, so any
// "Encryption key" or "/etc/zones/keys/" text counts. The remedy is
// `zoneadm attach -x initialize-hostdata`.
func IsKeyError(stderr []byte) bool {
	return bytes.Contains(stderr, []byte("Encryption key")) ||
		bytes.Contains(stderr, []byte("/etc/zones/keys/"))
}

// IsInUseByHost reports that the zone's host data names another host
// (zones.md §5.2): "zone kzone1 is in use by host with  hostid 848611d4". The
// remedy, once the other host is proven not to run the zone, is
// `zoneadm attach -x force-takeover`.
func IsInUseByHost(stderr []byte) bool {
	return bytes.Contains(stderr, []byte("is in use by host with"))
}
