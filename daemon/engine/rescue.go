package engine

// A rescue (issue 23, docs/rescue.md): a kernel zone's boot disk, whose
// root pool label carries a path the zone cannot boot from, is added to a
// rescue kernel zone as device id 0; the pool is imported and exported
// inside it, which writes the kernel zone's path back. It is planned,
// locked (the zone's boot volume, then both zones), held, journaled, run,
// watched and resumed by the same code as a rollback: a Request of kind
// rescue with its own capture (the backend's CaptureRescue) and its
// volume named by that capture instead of a snapshot.

import (
	"context"
	"errors"
	"fmt"

	"github.com/volctl/volctl/daemon/execx"
	"github.com/volctl/volctl/store"
)

// Rescuer is a backend with kernel zones that can rescue one's boot disk.
type Rescuer interface {
	// CaptureRescue checks, reading only, that o.Zone and o.With are
	// kernel zones fit for a rescue (o.Zone not running, o.With's own
	// disks not using device id 0) and returns the identity: Volume is
	// o.Zone's boot volume, Zones both zones, Rescue what the steps need.
	// Errors wrap ErrInvalid, ErrNotFound or ErrPrecondition.
	CaptureRescue(ctx context.Context, run execx.RunFunc, o store.RescueOptions) (store.Identity, []string, error)
}

// RescueRequest is a rescue: the zone whose boot disk is repaired, the
// rescue zone, and the request's id and caller.
type RescueRequest struct {
	Zone, With string
	// Shell stops the rescue, waiting, with the pool imported for the
	// admin (await.go).
	Shell       bool
	RequestID   string
	Wait        bool
	RequestedBy string
}

// PlanRescue is a rescue's dry run: the capture and every command, nothing
// changed and nothing journaled.
func (e *Engine) PlanRescue(ctx context.Context, req RescueRequest) (*store.Operation, error) {
	r, err := e.rescueRequest(ctx, req)
	if err != nil {
		return nil, err
	}
	return e.Plan(ctx, r)
}

// Rescue runs a rescue as Rollback runs a rollback (journaled, undone on
// failure before its commit, resumed after a crash, streamed).
func (e *Engine) Rescue(ctx context.Context, req RescueRequest, emit func(Event)) (*store.Operation, error) {
	if e.base.Err() != nil {
		return nil, ErrShuttingDown
	}
	r, err := e.rescueRequest(ctx, req)
	if err != nil {
		return nil, err
	}
	return e.Rollback(ctx, r, emit)
}

// rescueRequest is the request a rescue runs as. The zone's boot volume
// (the lock) is found by a first capture, outside the locks; the capture
// under the locks must find the same one.
func (e *Engine) rescueRequest(ctx context.Context, req RescueRequest) (Request, error) {
	rs, ok := e.backend.(Rescuer)
	if !ok {
		return Request{}, fmt.Errorf("platform %s has no kernel zones to rescue: %w", e.backend.Name(), ErrInvalid)
	}
	if req.Zone == "" || req.With == "" {
		return Request{}, fmt.Errorf("a rescue names the zone and the rescue zone (--with): %w", ErrInvalid)
	}
	if req.Zone == req.With {
		return Request{}, fmt.Errorf("zone %s cannot rescue itself: name another kernel zone with --with: %w", req.Zone, ErrInvalid)
	}
	o := store.RescueOptions{Zone: req.Zone, With: req.With, Shell: req.Shell}
	if _, err := e.Probe(ctx); err != nil {
		return Request{}, err
	}
	// A retry of a request id journaled already follows that operation
	// (rollbackOnce): its volume is the journal's, whatever the host
	// shows now.
	var vol string
	if op, err := e.retriedRescue(req.RequestID, o); err != nil {
		return Request{}, err
	} else if op != nil {
		vol = op.Volume
	} else if err := e.checkRescueHeld(o); err != nil { // await.go
		return Request{}, err
	} else {
		id, _, err := rs.CaptureRescue(ctx, e.plainRun, o)
		if err != nil && !errors.Is(err, ErrNeedsConsent) {
			return Request{}, err
		}
		vol = id.Volume
	}
	if vol == "" {
		return Request{}, fmt.Errorf("platform %s named no boot volume for zone %s: %w", e.backend.Name(), req.Zone, ErrPrecondition)
	}
	capture := func(ctx context.Context, run execx.RunFunc) ([]store.Identity, []string, error) {
		id, warnings, err := rs.CaptureRescue(ctx, run, o)
		if err != nil {
			return nil, nil, err
		}
		if id.Volume != vol || id.Rescue == nil {
			return nil, nil, fmt.Errorf("zone %s's boot volume changed while the rescue was planned (%s, then %s): plan it again: %w",
				req.Zone, vol, id.Volume, ErrPrecondition)
		}
		return []store.Identity{id}, warnings, nil
	}
	return Request{Options: store.Options{Rescue: &o}, RequestID: req.RequestID, Wait: req.Wait, RequestedBy: req.RequestedBy,
		volumes: []string{vol}, special: &special{k: store.KindRescue, capture: capture}}, nil
}

// retriedRescue is the rescue request id rid journaled already for the
// same zones, or nil.
func (e *Engine) retriedRescue(rid string, o store.RescueOptions) (*store.Operation, error) {
	if rid == "" {
		return nil, nil
	}
	op, err := e.byRequest(rid)
	if err != nil || op == nil || op.Kind != store.KindRescue || op.Options.Rescue == nil || *op.Options.Rescue != o {
		return nil, err
	}
	return op, nil
}

// rescueLeft is what a rescue that needs attention left, from its steps:
// the disk in the rescue zone, the pool imported there, the rescue zone
// running.
func rescueLeft(op *store.Operation, state func(string) (store.StepState, bool), taken func(store.StepState) bool) []string {
	r := op.Identity.Rescue
	if op.Kind != store.KindRescue || r == nil {
		return nil
	}
	var left []string
	for _, p := range []struct{ takes, gives, what string }{
		{"add-device", "remove-device", fmt.Sprintf("%s's boot disk (%s) in zone %s as device id %d", r.Zone, r.Storage, r.With, r.DeviceID)},
		{"import", "export", fmt.Sprintf("%s's root pool imported in zone %s as %s", r.Zone, r.With, r.TempName)},
		{"boot-rescue", "halt-rescue", fmt.Sprintf("rescue zone %s running", r.With)},
	} {
		took, ok := state(p.takes)
		gave, _ := state(p.gives)
		if ok && taken(took) && gave != store.StepDone && gave != store.StepSkipped {
			left = append(left, p.what)
		}
	}
	return left
}
