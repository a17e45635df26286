package cli

// rollback --keep, undo, kept and forget (issue 22, docs/keep.md): the
// commands, and how plans, operations and results show what is kept.

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/google/uuid"
	"github.com/spf13/cobra"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/volctl/volctl/client"
	v1 "github.com/volctl/volctl/proto/volctl/v1"
)

// The operation kinds (Operation.kind, Plan.kind) that are not a rollback.
const (
	kindUndo   = "undo"
	kindForget = "forget"
)

// checkKeep refuses --keep with --destroy-newer as a command line that does
// not parse (exit 2), before anything is sent: a rollback that keeps
// destroys nothing.
func checkKeep(o *v1.RollbackOptions) error {
	if o.GetKeep() && o.GetDestroyNewer() {
		return usageError{fmt.Errorf("--keep and --destroy-newer: a rollback with --keep destroys nothing (the newer snapshots move to the kept dataset); leave out --destroy-newer")}
	}
	return nil
}

// undoFlags are undo's flags.
type undoFlags struct {
	opts              v1.RollbackOptions
	dryRun, wait, yes bool
	requestID         string
}

func (a *app) undoCmd() *cobra.Command {
	var uf undoFlags
	cmd := &cobra.Command{
		Use:   "undo OP",
		Short: "Swap back what a rollback --keep (or an undo) kept: the volume as it was before OP",
		Long: `Undo operation OP, a 'volctl rollback --keep' or an earlier undo: the
volume's kept dataset takes its name back, with its data and the snapshots
that were newer than OP's snapshot, as one transaction with a rollback's
guarantees (same LU GUID, properties and views, zones re-attached and
booted). Nothing is destroyed: what the volume holds now is kept in turn
(see 'volctl kept'), so an undo can itself be undone. Undos go last in,
first out: a later rollback, keep or undo of the volume must be undone
first. Progress, confirmation and exit status are rollback's.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error { return a.undo(cmd.Context(), &uf, args[0]) },
	}
	f := cmd.Flags()
	f.BoolVar(&uf.dryRun, "dry-run", false, "show the plan (identity captured, exact commands) and change nothing")
	f.BoolVar(&uf.opts.HaltZones, "halt-zones", false, "stop zones running on the volume: shut down, halted if that hangs (booted again afterwards)")
	f.BoolVar(&uf.opts.KeepHostdata, "keep-hostdata", false, "attach zones plainly instead of re-initialising their host data")
	f.BoolVar(&uf.opts.AcceptSessions, "accept-sessions", false,
		"allow the undo while initiators that are not known consumers can see the LU")
	f.BoolVar(&uf.wait, "wait", false, "wait for a running operation on the volume instead of failing")
	f.StringVar(&uf.requestID, "request-id", "", "idempotency key: the same id returns the same operation (default: a new UUID)")
	yesFlag(cmd, &uf.yes)
	return cmd
}

func (a *app) undo(ctx context.Context, uf *undoFlags, arg string) error {
	id, err := parseID(arg)
	if err != nil {
		return err
	}
	c, err := a.dial()
	if err != nil {
		return err
	}
	defer c.Close()
	plan := &v1.PlanUndoRequest{OperationId: id, Options: &uf.opts}
	if uf.dryRun {
		resp, err := c.Rollbacks.PlanUndo(ctx, plan)
		return a.printPlanAnswer(resp.GetPlan(), err, func(p *v1.Plan) proto.Message { return &v1.PlanUndoResponse{Plan: p} })
	}
	if err := a.confirmUndo(ctx, c, uf.yes, plan); err != nil {
		return err
	}
	if uf.requestID == "" {
		uf.requestID = uuid.NewString()
	}
	req := &v1.UndoRequest{OperationId: id, Options: &uf.opts, RequestId: uf.requestID, Wait: uf.wait}
	return a.followStream(ctx, c, fmt.Sprintf("the undo of operation %d", id), req.GetRequestId(), !req.GetWait(),
		func(show func(proto.Message)) (*v1.Operation, error) {
			return c.Undo(ctx, req, func(m *v1.UndoResponse) { show(m) })
		})
}

// confirmUndo asks, on a terminal and unless yes, before an undo: what
// comes back and what is kept, from its plan (a refused plan is the undo's
// refusal).
func (a *app) confirmUndo(ctx context.Context, c *client.Client, yes bool, req *v1.PlanUndoRequest) error {
	if yes || !a.term.Interactive() {
		return nil
	}
	resp, err := c.Rollbacks.PlanUndo(ctx, req)
	if err != nil {
		return err
	}
	what := []string{fmt.Sprintf("This undoes operation %d: the LU goes away for the swap, and its zones are stopped and attached again.", req.GetOperationId())}
	for _, k := range resp.GetPlan().GetKept() {
		what = append(what, "  "+keptLine(a, k))
	}
	return a.confirm(ctx, yes, what, "Undo it?")
}

// forgetFlags are forget's flags.
type forgetFlags struct {
	destroyKept, dryRun, yes bool
	requestID                string
}

func (a *app) forgetCmd() *cobra.Command {
	var ff forgetFlags
	cmd := &cobra.Command{
		Use:   "forget OP --destroy-kept",
		Short: "Destroy the kept datasets of a rollback --keep (or an undo), for good",
		Long: `Destroy what operation OP kept (its kept datasets, with their snapshots:
'volctl kept' lists them), as an operation of its own (kind forget). Only a
dataset that carries OP's mark is destroyed, and none that an undo made
the volume again. It cannot be undone: --destroy-kept is the consent.
Without it, forget shows what it would destroy and changes nothing.
Retention ([kept] keep_for, keep_last in volctld.toml) runs the same
forget by itself.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error { return a.forget(cmd.Context(), &ff, args[0]) },
	}
	f := cmd.Flags()
	f.BoolVar(&ff.destroyKept, "destroy-kept", false, "consent to destroying the kept datasets: they cannot be brought back")
	f.BoolVar(&ff.dryRun, "dry-run", false, "show what would be destroyed (exact commands) and change nothing")
	f.StringVar(&ff.requestID, "request-id", "", "idempotency key: the same id returns the same operation (default: a new UUID)")
	yesFlag(cmd, &ff.yes)
	return cmd
}

func (a *app) forget(ctx context.Context, ff *forgetFlags, arg string) error {
	id, err := parseID(arg)
	if err != nil {
		return err
	}
	c, err := a.dial()
	if err != nil {
		return err
	}
	defer c.Close()
	if ff.dryRun || !ff.destroyKept {
		// Without the consent volctld refuses with the plan: it is
		// shown, and the refusal names the flag that consents.
		resp, err := c.Rollbacks.PlanForget(ctx, &v1.PlanForgetRequest{OperationId: id, DestroyKept: ff.destroyKept})
		return a.printPlanAnswer(resp.GetPlan(), err, func(p *v1.Plan) proto.Message { return &v1.PlanForgetResponse{Plan: p} })
	}
	if !ff.yes && a.term.Interactive() {
		resp, err := c.Rollbacks.PlanForget(ctx, &v1.PlanForgetRequest{OperationId: id, DestroyKept: true})
		if err != nil {
			return err
		}
		what := []string{fmt.Sprintf("This destroys what operation %d kept, with its snapshots; it cannot be brought back:", id)}
		for _, ds := range resp.GetPlan().GetForgetDatasets() {
			what = append(what, "  "+ds)
		}
		if err := a.confirm(ctx, ff.yes, what, "Destroy it?"); err != nil {
			return err
		}
	}
	if ff.requestID == "" {
		ff.requestID = uuid.NewString()
	}
	req := &v1.ForgetRequest{OperationId: id, DestroyKept: true, RequestId: ff.requestID}
	return a.followStream(ctx, c, fmt.Sprintf("the forget of operation %d", id), req.GetRequestId(), false,
		func(show func(proto.Message)) (*v1.Operation, error) {
			return c.Forget(ctx, req, func(m *v1.ForgetResponse) { show(m) })
		})
}

// printPlanAnswer prints a dry run's answer: its plan, or the plan a
// refusal for a missing consent carries, in text or as JSON (msg makes the
// RPC's response of a plan); it returns the refusal.
func (a *app) printPlanAnswer(p *v1.Plan, err error, msg func(*v1.Plan) proto.Message) error {
	if err != nil {
		p = planOf(err)
	}
	if p != nil {
		if a.json() {
			if jerr := a.printJSON(msg(p), true); err == nil {
				err = jerr
			}
		} else {
			a.printPlan(p, true)
		}
	}
	return err
}

// followStream runs an operation's stream (run) and follows it as
// followRollback does: what (for example "the undo of operation 7") names
// it when volctl is interrupted or loses volctld before it named the
// operation; hintWait adds to a busy refusal that --wait waits instead.
func (a *app) followStream(ctx context.Context, c *client.Client, what, requestID string, hintWait bool,
	run func(show func(proto.Message)) (*v1.Operation, error)) error {
	var opID uint64
	final, err := a.follow(func(show func(proto.Message)) (*v1.Operation, error) {
		return run(func(m proto.Message) {
			if s, ok := m.(interface{ GetStep() *v1.StepEvent }); ok {
				if id := s.GetStep().GetOperationId(); id != 0 && s.GetStep().GetIndex() > 0 {
					opID = id
				}
			}
			show(m)
		})
	})
	if final == nil && ctx.Err() != nil {
		if opID != 0 {
			return status.Errorf(codes.Canceled, "interrupted: operation %d continues in volctld: volctl op watch %d", opID, opID)
		}
		return interruptedPlanningOf(askRequest(c, requestID), requestID, what)
	}
	if final == nil && status.Code(err) == codes.Unavailable {
		return connectionLostOf(err, opID, requestID, what)
	}
	if st, ok := status.FromError(err); ok && final == nil && st.Code() == codes.Aborted && hintWait {
		p := st.Proto()
		p.Message += "; or pass --wait to wait for it"
		return status.FromProto(p).Err()
	}
	return err
}

func (a *app) keptCmd() *cobra.Command {
	var volume string
	cmd := &cobra.Command{
		Use:   "kept",
		Short: "List the kept datasets: what rollback --keep and undo kept, and the space each holds",
		Long: `List the kept datasets in the journal, oldest operation first: the operation
that kept each (OP, KIND: rollback or undo), the volume and the snapshot it
went back to, the kept dataset (VOLUME.kept-OP-YYYYMMDDThhmmssZ), when, its
state (kept; undone:N when undo N made it the volume again; forgotten:N
when forget N destroyed it) and the space it holds now, read from zfs.
Where that could not be read, USED says why instead of a number.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if volume != "" {
				if err := validateVolume(volume); err != nil {
					return err
				}
			}
			return query(a, cmd, func(ctx context.Context, c *client.Client) (*v1.ListKeptResponse, error) {
				return c.Rollbacks.ListKept(ctx, &v1.ListKeptRequest{Volume: volume})
			}, a.printKept)
		},
	}
	cmd.Flags().StringVar(&volume, "volume", "", "only the kept datasets of this volume")
	return cmd
}

// printKept is kept's table. USED is never a 0 that was not read: it
// prints why instead (the last column, so the others stay one word each).
func (a *app) printKept(resp *v1.ListKeptResponse) error {
	t := a.newTable("OP", "KIND", "VOLUME", "SNAPSHOT", "DATASET", "CREATED", "STATE", "USED")
	for _, k := range resp.GetKept() {
		used := a.fmtSize(k.GetUsedBytes())
		if k.GetUsedError() != "" {
			used = k.GetUsedError()
		}
		state := k.GetState()
		if k.GetEndedBy() != 0 {
			state += ":" + strconv.FormatUint(k.GetEndedBy(), 10)
		}
		t.row(strconv.FormatUint(k.GetOperationId(), 10), k.GetKind(), k.GetVolume(), k.GetSnapshot(), k.GetDataset(),
			a.fmtTime(k.GetCreated().AsTime()), state, used)
	}
	return t.flush()
}

// kindWord is an operation's KIND in history: rollback, keep (a rollback
// with --keep), undo:N or forget:N (N the operation undone or forgotten).
func kindWord(op *v1.Operation) string {
	switch {
	case op.GetKind() == kindUndo && op.GetUndoOf() != 0:
		return fmt.Sprintf("undo:%d", op.GetUndoOf())
	case op.GetKind() == kindForget && op.GetForgetOf() != 0:
		return fmt.Sprintf("forget:%d", op.GetForgetOf())
	case op.GetKind() == "rollback" && op.GetOptions().GetKeep():
		return "keep"
	}
	return op.GetKind()
}

// printKeepHeader is the first line of an undo's or a forget's plan.
func (a *app) printKeepHeader(p *v1.Plan) {
	if p.GetKind() == kindForget {
		a.printf("Forget operation %d: destroy what it kept\n", p.GetForgetOf())
		return
	}
	what := p.GetVolume()
	if g := p.GetGroup(); len(g) > 1 {
		what = fmt.Sprintf("%d volumes", len(g))
	}
	a.printf("Undo operation %d: %s back to what it held before it went back to %s\n", p.GetUndoOf(), what, p.GetSnapshot())
}

// printKeptPlan is what a plan keeps, brings back or destroys, one line
// each.
func (a *app) printKeptPlan(p *v1.Plan) {
	for _, k := range p.GetKept() {
		if p.GetKind() == kindForget {
			break // a forget keeps nothing: it destroys (below)
		}
		a.printf("  %s\n", keptLine(a, k))
	}
	for _, ds := range p.GetForgetDatasets() {
		a.printf("  destroys kept dataset %s, with its snapshots\n", ds)
	}
}

// keptLine says what happens to one volume of a keep rollback or an undo.
func keptLine(a *app, k *v1.KeptVolume) string {
	s := ""
	if k.GetRestore() != "" {
		s = fmt.Sprintf("brings back %s as %s; ", k.GetRestore(), k.GetVolume())
	}
	s += fmt.Sprintf("keeps %s as %s", k.GetVolume(), k.GetDataset())
	if k.GetUsedBytes() > 0 {
		s += fmt.Sprintf(" (up to %s, allocated until forgotten)", a.fmtSize(k.GetUsedBytes()))
	}
	return s
}

// printKeptResult ends a keep rollback's or an undo's result: where the
// data went, and how to swap back or free it.
func (a *app) printKeptResult(op *v1.Operation) {
	if op.GetState() != v1.OperationState_OPERATION_STATE_SUCCEEDED || len(op.GetKept()) == 0 {
		return
	}
	if op.GetKind() == kindForget {
		for _, ds := range op.GetForgetDatasets() {
			a.printf("  destroyed: %s, with its snapshots\n", ds)
		}
		return
	}
	for _, k := range op.GetKept() {
		a.printf("  kept: %s as %s\n", k.GetVolume(), k.GetDataset())
	}
	a.printf("  volctl undo %d swaps back; volctl forget %d --destroy-kept frees the space\n", op.GetId(), op.GetId())
}

// printKeepOperation is what op show says of an undo or a forget (what
// each keeps or destroys is in its captured identity: printKeptPlan).
func (a *app) printKeepOperation(op *v1.Operation) {
	if op.GetUndoOf() != 0 {
		a.printf("  undoes:    operation %d (volctl op show %d)\n", op.GetUndoOf(), op.GetUndoOf())
	}
	if op.GetForgetOf() != 0 {
		a.printf("  forgets:   operation %d (volctl op show %d)\n", op.GetForgetOf(), op.GetForgetOf())
	}
}

// completeKept completes undo's and forget's OP: the operations that keep
// a dataset now, each described by its volume and kept dataset.
func (a *app) completeKept(cmd *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
	if len(args) > 0 {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	var out []cobra.Completion
	seen := map[uint64]bool{}
	a.withClient(cmd, func(ctx context.Context, c *client.Client) error {
		resp, err := c.Rollbacks.ListKept(ctx, &v1.ListKeptRequest{})
		for _, k := range resp.GetKept() {
			id := strconv.FormatUint(k.GetOperationId(), 10)
			if k.GetState() != "kept" || seen[k.GetOperationId()] || !strings.HasPrefix(id, toComplete) {
				continue
			}
			seen[k.GetOperationId()] = true
			out = append(out, cobra.CompletionWithDesc(id, "kept "+k.GetDataset()))
		}
		return err
	})
	return out, cobra.ShellCompDirectiveNoFileComp | cobra.ShellCompDirectiveKeepOrder
}
