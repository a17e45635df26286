package engine

// STAND-INS for the keep engine (issue 22, docs/keep.md) that the
// keep-engine branch builds, with its exact signatures, so that the API
// branch builds on its own: every method refuses (ErrInvalid, "not built
// yet"). The lead deletes this file when merging.

import (
	"context"
	"fmt"

	"github.com/volctl/volctl/store"
)

// UndoRequest asks to swap an operation's kept datasets back in.
type UndoRequest struct {
	Operation   uint64
	Options     store.Options
	RequestID   string
	Wait        bool
	RequestedBy string
}

// ForgetRequest asks to destroy an operation's kept datasets.
type ForgetRequest struct {
	Operation   uint64
	DestroyKept bool
	RequestID   string
	RequestedBy string
}

// KeptData is a kept record with the space its dataset holds now.
type KeptData struct {
	store.Kept
	Used    uint64
	UsedErr error
}

func notBuilt(what string) error { return fmt.Errorf("%s: not built yet: %w", what, ErrInvalid) }

// PlanUndo is a stand-in.
func (e *Engine) PlanUndo(ctx context.Context, req UndoRequest) (*store.Operation, error) {
	return nil, notBuilt("undo")
}

// Undo is a stand-in.
func (e *Engine) Undo(ctx context.Context, req UndoRequest, emit func(Event)) (*store.Operation, error) {
	return nil, notBuilt("undo")
}

// PlanForget is a stand-in.
func (e *Engine) PlanForget(ctx context.Context, req ForgetRequest) (*store.Operation, error) {
	return nil, notBuilt("forget")
}

// Forget is a stand-in.
func (e *Engine) Forget(ctx context.Context, req ForgetRequest, emit func(Event)) (*store.Operation, error) {
	return nil, notBuilt("forget")
}

// Kept is a stand-in.
func (e *Engine) Kept(ctx context.Context, volume string) ([]KeptData, error) {
	return nil, notBuilt("kept")
}
