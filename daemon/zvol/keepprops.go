package zvol

import (
	"fmt"
	"slices"
	"strings"

	"github.com/volctl/volctl/daemon/engine"
)

// Which of a volume's local properties (zfs get -s local) the clone of a
// keep rollback is created with (zfs clone -o), which it gets otherwise,
// and which it cannot take (docs/platform/zfs-clone.md).

// notCopied are local properties the clone gets otherwise, or that are not
// the volume's to carry:
//
//	volsize       the clone has the snapshot's, which is the size the volume
//	              goes back to (as zfs rollback gives it back)
//	volblocksize  fixed when a volume is created; the clone has its
//	              origin's, which is the volume's
//	stmf_sbd_lu   COMSTAR's LU metadata (hidden on illumos): create-lu
//	              writes the clone's own
//
// refreservation is kept, but not given to zfs clone -o (zfs refuses one
// above the snapshot's volsize): the clone step sets it after
// (keepsteps.go refreserve).
var notCopied = []string{"volsize", "volblocksize", "stmf_sbd_lu"}

// cloneRefuses are properties only a dataset's creation sets that a clone
// inherits from its origin and zfs clone -o refuses: a volume with one set
// locally is refused before anything runs, rather than cloned without it.
var cloneRefuses = []string{"encryption", "keysource", "keyformat", "keylocation", "pbkdf2iters",
	"normalization", "utf8only", "casesensitivity"}

// CloneProps are the properties, of a volume's local ones, that the clone
// is created with: all but notCopied and volctl's own (volctl:*). One in
// cloneRefuses is a refusal (engine.ErrPrecondition) that names it.
func CloneProps(local map[string]string) (map[string]string, error) {
	out := map[string]string{}
	var refused []string
	for k, v := range local {
		switch {
		case slices.Contains(notCopied, k), strings.HasPrefix(k, "volctl:"):
		case slices.Contains(cloneRefuses, k):
			refused = append(refused, k+"="+v)
		default:
			out[k] = v
		}
	}
	if len(refused) > 0 {
		slices.Sort(refused)
		return nil, fmt.Errorf("the volume has %s set locally, which a clone cannot be given (it takes its origin's; docs/platform/zfs-clone.md): a rollback with --keep cannot carry it: %w",
			strings.Join(refused, ", "), engine.ErrPrecondition)
	}
	return out, nil
}
