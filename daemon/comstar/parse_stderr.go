package comstar

import (
	"bytes"
	"regexp"
)

// Classifiers for stmfadm's stderr (docs/platform/comstar.md §2-§6).
// stmfadm's exit status is a failure count and some failures exit 0
// (comstar.md §1.2), so callers decide by the message. All match substrings,
// so a "stmfadm:" or "sbdadm:" prefix, an operand, or extra lines around the
// message do not matter.

// IsNoViews reports "stmfadm: <guid>: no views found" (list-view, remove-view;
// comstar.md §5.2, §5.3). An unknown GUID gives the same message.
func IsNoViews(stderr []byte) bool { return bytes.Contains(stderr, []byte("no views found")) }

// IsBusy reports "resource busy" (create/import/delete/modify-lu, add-view;
// comstar.md §2.1, §2.2, §3.2): e.g. the zvol is already held open FEXCL, or
// delete-lu timed out offlining the LU.
func IsBusy(stderr []byte) bool { return bytes.Contains(stderr, []byte("resource busy")) }

// IsMetaFileError reports "meta file error" (comstar.md §2.2): on import-lu
// of a zvol this means no sbd metadata (no stmf_sbd_lu property, no in-band
// magic) or a missing path.
func IsMetaFileError(stderr []byte) bool { return bytes.Contains(stderr, []byte("meta file error")) }

// IsGUIDInUse reports "guid in use": the GUID is registered by another LU
// (comstar.md §2.1, §2.2).
func IsGUIDInUse(stderr []byte) bool { return bytes.Contains(stderr, []byte("guid in use")) }

// fileInUse matches "filename <path>: in use" (comstar.md §2.1, §2.2).
var fileInUse = regexp.MustCompile(`filename .*: in use`)

// IsFileInUse reports "stmfadm: filename <path>: in use": that exact path is
// already registered as an LU.
func IsFileInUse(stderr []byte) bool { return fileInUse.Match(stderr) }

// IsViewExists reports "view entry exists" from add-view: an overlapping view
// of the same LU already exists (comstar.md §5.1).
func IsViewExists(stderr []byte) bool { return bytes.Contains(stderr, []byte("view entry exists")) }
