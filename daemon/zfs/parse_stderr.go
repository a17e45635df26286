package zfs

import (
	"bytes"
	"strings"
)

// ParseRollbackNewer extracts the snapshot and bookmark names zfs rollback
// lists when newer ones exist and -r was not given (zfs.md §3.2):
//
//	cannot rollback to 'tank/vol@s1': more recent snapshots or bookmarks exist
//	use '-r' to force deletion of the following snapshots and bookmarks:
//	tank/vol@s2
//	tank/vol#bm
//
// Solaris 11 and older illumos say "more recent snapshots exist" / "use '-r'
// to force deletion of the following snapshots:"; both are recognised by the
// "use '-r'" line. Names are the following lines that contain '@' or '#', up
// to a blank line or the next "use '" line (so the "-R ... clones" list is not
// taken); OpenZFS's "Output limited to 32 snapshots/bookmarks" line is skipped,
// which means the list may be incomplete. Returns nil if there is no such
// message. Order is zfs's (not guaranteed sorted on illumos).
func ParseRollbackNewer(stderr []byte) []string {
	var names []string
	in := false
	for _, l := range strings.Split(string(stderr), "\n") {
		l = strings.TrimSpace(l)
		switch {
		case strings.HasPrefix(l, "use '-r'"):
			in = true
		case !in:
		case l == "" || strings.HasPrefix(l, "use '"):
			in = false
		case strings.ContainsAny(l, "@#") && !strings.HasPrefix(l, "cannot "):
			names = append(names, l)
		}
	}
	return names
}

// IsBusy reports "dataset is busy" (EBUSY; zfs.md §2.2, §3.5): for rollback
// of a zvol this usually means it is held open, e.g. still registered as a
// COMSTAR LU. Also matches the generic "pool or dataset is busy".
func IsBusy(stderr []byte) bool { return bytes.Contains(stderr, []byte("dataset is busy")) }

// IsNotExist reports "dataset does not exist" (ENOENT; zfs.md §2.2) and the
// generic EZFS_NOENT text "no such pool or dataset".
func IsNotExist(stderr []byte) bool {
	return bytes.Contains(stderr, []byte("dataset does not exist")) ||
		bytes.Contains(stderr, []byte("no such pool or dataset"))
}
