package server

import (
	"time"

	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/volctl/volctl/daemon/engine"
	"github.com/volctl/volctl/daemon/peerwire"
	v1 "github.com/volctl/volctl/proto/volctl/v1"
	"github.com/volctl/volctl/store"
)

func ts(t time.Time) *timestamppb.Timestamp {
	if t.IsZero() {
		return nil
	}
	return timestamppb.New(t)
}

func toOptions(o store.Options) *v1.RollbackOptions {
	return &v1.RollbackOptions{HaltZones: o.HaltZones, DestroyNewer: o.DestroyNewer, KeepHostdata: o.KeepHostdata, AcceptSessions: o.AcceptSessions,
		SkipPeers: o.SkipPeers, OnlyTheseDisks: o.OnlyTheseDisks, Keep: o.Keep}
}

func fromOptions(o *v1.RollbackOptions) store.Options {
	return store.Options{HaltZones: o.GetHaltZones(), DestroyNewer: o.GetDestroyNewer(), KeepHostdata: o.GetKeepHostdata(), AcceptSessions: o.GetAcceptSessions(),
		SkipPeers: o.GetSkipPeers(), OnlyTheseDisks: o.GetOnlyTheseDisks(), Keep: o.GetKeep()}
}

func toLU(lu store.LU) *v1.LogicalUnit {
	p := &v1.LogicalUnit{
		Guid: lu.GUID, DataFile: lu.DataFile, Alias: lu.Alias, Size: lu.Size, BlockSize: lu.BlockSize,
		VendorId: lu.VendorID, ProductId: lu.ProductID, Serial: lu.Serial, MgmtUrl: lu.MgmtURL,
		WriteProtect: lu.WriteProtect, WritebackCacheDisabled: lu.WritebackCacheDisabled,
		OperationalStatus: lu.OperationalStatus, Registered: true, Properties: lu.AllProperties(),
	}
	for _, v := range lu.Views {
		p.Views = append(p.Views, &v1.View{Entry: int32(v.Entry), HostGroup: v.HostGroup, TargetGroup: v.TargetGroup, Lun: int32(v.LUN)})
	}
	return p
}

func toZone(z store.Zone) *v1.Zone {
	return &v1.Zone{Name: z.Name, State: z.State, Brand: z.Brand, Storage: z.Storage, Host: z.Host, Aux: z.Aux}
}

func toSnapshot(s engine.Snapshot) *v1.Snapshot {
	return &v1.Snapshot{Name: s.Name, Creation: ts(s.Creation), Used: s.Used, Referenced: s.Referenced}
}

func toVolume(v engine.Volume) *v1.Volume {
	p := &v1.Volume{Name: v.Name, Type: v.Type, Volsize: v.Volsize}
	for _, lu := range v.LUs {
		p.LogicalUnits = append(p.LogicalUnits, toLU(lu))
	}
	for _, s := range v.Snapshots {
		p.Snapshots = append(p.Snapshots, toSnapshot(s))
	}
	for _, z := range v.Zones {
		p.Zones = append(p.Zones, toZone(z))
	}
	showVolume(v, p)
	return p
}

var opStates = map[store.OpState]v1.OperationState{
	store.OpPlanned:        v1.OperationState_OPERATION_STATE_PLANNED,
	store.OpRunning:        v1.OperationState_OPERATION_STATE_RUNNING,
	store.OpCompensating:   v1.OperationState_OPERATION_STATE_COMPENSATING,
	store.OpSucceeded:      v1.OperationState_OPERATION_STATE_SUCCEEDED,
	store.OpRolledBack:     v1.OperationState_OPERATION_STATE_ROLLED_BACK,
	store.OpNeedsAttention: v1.OperationState_OPERATION_STATE_NEEDS_ATTENTION,
	store.OpResolved:       v1.OperationState_OPERATION_STATE_RESOLVED,
	store.OpWaiting:        v1.OperationState_OPERATION_STATE_WAITING,
}

var stepStates = map[store.StepState]v1.StepState{
	store.StepPending:      v1.StepState_STEP_STATE_PENDING,
	store.StepRunning:      v1.StepState_STEP_STATE_RUNNING,
	store.StepDone:         v1.StepState_STEP_STATE_DONE,
	store.StepFailed:       v1.StepState_STEP_STATE_FAILED,
	store.StepSkipped:      v1.StepState_STEP_STATE_SKIPPED,
	store.StepCompensating: v1.StepState_STEP_STATE_COMPENSATING,
	store.StepCompensated:  v1.StepState_STEP_STATE_COMPENSATED,
}

// toCommand is a command record in a reply, its output capped; the
// record's API form is the peer link's (the zone service answers with it).
func toCommand(c store.Command) *v1.CommandRun {
	c.Stdout, c.Stderr = capOutput(c.Stdout), capOutput(c.Stderr)
	return peerwire.Command(c)
}

// toPlan is the plan view of an operation: identity and planned commands.
func toPlan(op *store.Operation) *v1.Plan {
	p := &v1.Plan{Volume: op.Volume, Snapshot: op.Snapshot, Warnings: op.Warnings, Group: op.Options.Group}
	for _, id := range op.Volumes() {
		p.NewerSnapshots = append(p.NewerSnapshots, id.NewerSnapshots...)
		for _, lu := range id.LUs {
			p.LogicalUnits = append(p.LogicalUnits, toLU(lu))
		}
	}
	for _, z := range op.Identity.Zones {
		p.Zones = append(p.Zones, toZone(z))
	}
	for _, s := range op.Steps {
		ps := &v1.PlannedStep{Name: s.Name, Description: s.Description, InOutageWindow: s.InOutageWindow}
		for _, argv := range s.Planned {
			host, argv := engine.SplitHost(argv)
			ps.Commands = append(ps.Commands, &v1.CommandLine{Argv: argv, Host: host})
		}
		if s.Name == "capture" {
			for _, c := range s.Commands {
				ps.Commands = append(ps.Commands, &v1.CommandLine{Argv: c.Argv, Host: c.Host})
			}
		}
		p.Steps = append(p.Steps, ps)
	}
	keepPlan(op, p)             // keep.go
	p.Rescue = rescueTarget(op) // rescue.go
	return p
}

// toOperation converts an operation; withCommands false leaves the command
// output out (lists).
func toOperation(op *store.Operation, withCommands bool) *v1.Operation {
	p := &v1.Operation{
		Id: op.ID, Kind: op.Kind, Volume: op.Volume, Snapshot: op.Snapshot, State: opStates[op.State],
		Created: ts(op.Created), Updated: ts(op.Updated), Options: toOptions(op.Options), RequestId: op.RequestID,
		Plan: toPlan(op), Error: op.Error, Attention: op.Attention, RequestedBy: op.RequestedBy, Recoveries: op.Recoveries,
		Capabilities: toCapabilities(op.Capabilities),
	}
	p.Volumes, p.Snapshots = op.Targets()
	p.RecoverOptions = &v1.RecoverOptions{Repersist: op.Options.Repersist, InitializeHostdata: op.Options.InitializeHostdata}
	keepOperation(op, p)        // keep.go
	p.Rescue = rescueTarget(op) // rescue.go
	if !op.OutageStart.IsZero() && !op.OutageEnd.IsZero() {
		p.Outage = durationpb.New(op.OutageEnd.Sub(op.OutageStart))
	}
	if r := op.Resolution; r != nil {
		p.Resolution = &v1.Resolution{Time: ts(r.Time), By: r.By, Reason: r.Reason, Attention: r.Attention}
	}
	if !op.Created.IsZero() && !op.Updated.IsZero() {
		p.Active = durationpb.New(op.Active())
	}
	for _, r := range op.Resumes {
		p.Resumes = append(p.Resumes, &v1.Resume{Time: ts(r.Time), Trigger: r.Trigger, Stopped: ts(r.Stopped),
			State: opStates[r.State], Step: r.Step})
	}
	for i, s := range op.Steps {
		ps := &v1.Step{Index: int32(i), Name: s.Name, State: stepStates[s.State], Started: ts(s.Started),
			Finished: ts(s.Finished), Error: s.Error, InOutageWindow: s.InOutageWindow}
		if withCommands {
			for _, c := range s.Commands {
				ps.Commands = append(ps.Commands, toCommand(c))
			}
			for _, c := range s.CompensationCommands {
				ps.CompensationCommands = append(ps.CompensationCommands, toCommand(c))
			}
		}
		p.Steps = append(p.Steps, ps)
	}
	if !withCommands {
		p.Plan = nil
	}
	return p
}

func toStepEvent(ev engine.Event) *v1.StepEvent {
	se := &v1.StepEvent{OperationId: ev.Op, Index: int32(ev.Index), Name: ev.Step, State: stepStates[ev.State],
		Message: ev.Message, Time: ts(ev.Time), Compensation: ev.Compensation}
	if ev.Command != nil {
		se.Command = toCommand(*ev.Command)
	}
	if c := ev.CommandStarted; c != nil {
		se.CommandStarted = &v1.CommandRun{Argv: c.Argv, Host: c.Host, Started: ts(c.Started)}
	}
	return se
}

func toCapabilities(cs store.Capabilities) []*v1.Capability {
	out := make([]*v1.Capability, 0, len(cs))
	for _, c := range cs {
		out = append(out, &v1.Capability{Name: c.Name, Supported: c.Supported, Detail: c.Detail})
	}
	return out
}
