package engine

import (
	"fmt"

	"github.com/volctl/volctl/store"
)

// stateWords says what an operation in state s is, for a sentence that
// begins "operation N ": "has succeeded", "is running".
func stateWords(s store.OpState) string {
	switch s {
	case store.OpSucceeded:
		return "has succeeded"
	case store.OpRolledBack:
		return "was rolled back (everything it changed restored)"
	case store.OpCompensating:
		return "is running (undoing its steps)"
	case store.OpNeedsAttention:
		return "needs attention"
	case store.OpWaiting:
		return "waits for an admin (a rescue --shell: volctl rescue --finish or --abandon)"
	case "":
		return "in no state"
	}
	return "is " + string(s) // planned, running, resolved
}

// notFound is the error for an operation id the journal does not have.
func notFound(id uint64) error {
	return fmt.Errorf("operation %d is not in the journal (volctl history lists the operations): %w", id, ErrNotFound)
}
