package cli

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"google.golang.org/protobuf/proto"

	"github.com/volctl/volctl/client"
	v1 "github.com/volctl/volctl/proto/volctl/v1"
)

func (a *app) historyCmd() *cobra.Command {
	var limit int
	var volume string
	cmd := &cobra.Command{
		Use:   "history",
		Short: "List operations from the journal, newest first",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if volume != "" {
				if err := validateVolume(volume); err != nil {
					return err
				}
			}
			if limit < 0 {
				return invalid("--limit %d is negative", limit)
			}
			return query(a, cmd, func(ctx context.Context, c *client.Client) (*v1.ListOperationsResponse, error) {
				if limit == 0 { // the daemon's default page
					return c.Operations.ListOperations(ctx, &v1.ListOperationsRequest{Volume: volume})
				}
				got := 0 // each page asks for what is still missing
				return allPages(func(token string) (*v1.ListOperationsResponse, error) {
					resp, err := c.Operations.ListOperations(ctx, &v1.ListOperationsRequest{
						PageSize: int32(min(limit-got, maxPage)), PageToken: token, Volume: volume})
					got += len(resp.GetOperations())
					return resp, err
				}, func(all, page *v1.ListOperationsResponse) {
					all.Operations, all.NextPageToken = append(all.Operations, page.Operations...), page.NextPageToken
				}, func(*v1.ListOperationsResponse) bool { return got >= limit })
			}, func(resp *v1.ListOperationsResponse) error {
				t := a.newTable("ID", "STATE", "SNAPSHOT", "STARTED", "DURATION", "OUTAGE", "BY", "KIND")
				for _, op := range resp.GetOperations() {
					outage := "-"
					if op.GetOutage() != nil {
						outage = a.fmtDuration(op.GetOutage().AsDuration(), time.Millisecond)
					}
					_, snaps := targets(op) // every volume of a group, comma-separated
					t.row(fmt.Sprint(op.GetId()), opWord(op.GetState()), strings.Join(snaps, ","), a.fmtTime(op.GetCreated().AsTime()),
						a.fmtDuration(activeTime(op), time.Millisecond), outage, op.GetRequestedBy(), kindWord(op))
				}
				return t.flush()
			})
		},
	}
	cmd.Flags().IntVar(&limit, "limit", 50, "at most this many operations")
	cmd.Flags().StringVar(&volume, "volume", "", "only operations on this volume")
	return cmd
}

// activeTime is how long an operation ran, less the time it stood still
// (stopped with the daemon, waiting for recover); created to updated from
// a daemon that does not say.
func activeTime(op *v1.Operation) time.Duration {
	if a := op.GetActive(); a != nil {
		return a.AsDuration()
	}
	return op.GetUpdated().AsTime().Sub(op.GetCreated().AsTime())
}

func parseID(s string) (uint64, error) {
	id, err := strconv.ParseUint(s, 10, 64)
	if err != nil || id == 0 {
		return 0, invalid("operation id %q: want a positive number (see volctl history)", s)
	}
	return id, nil
}

func (a *app) opCmd() *cobra.Command {
	op := &cobra.Command{Use: "op", Short: "Operations in the journal"}
	op.AddCommand(&cobra.Command{
		Use:   "show ID",
		Short: "Show an operation with every step and every command it ran",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := parseID(args[0])
			if err != nil {
				return err
			}
			return query(a, cmd, func(ctx context.Context, c *client.Client) (*v1.GetOperationResponse, error) {
				return c.Operations.GetOperation(ctx, &v1.GetOperationRequest{Id: id})
			}, func(resp *v1.GetOperationResponse) error {
				a.printOperation(resp.GetOperation())
				return nil
			})
		},
	})
	op.AddCommand(a.opWatchCmd())
	op.AddCommand(a.opRequestCmd())
	return op
}

func (a *app) printOperation(op *v1.Operation) {
	a.printf("Operation %d: %s %s\n", op.GetId(), op.GetKind(), targetText(op))
	a.printf("  state:     %s\n", opWord(op.GetState()))
	a.printf("  started:   %s\n", a.fmtTime(op.GetCreated().AsTime()))
	a.printf("  updated:   %s\n", a.fmtTime(op.GetUpdated().AsTime()))
	if op.GetRequestedBy() != "" {
		a.printf("  by:        %s\n", op.GetRequestedBy())
	}
	// Every option and consent given, as the flags that give them.
	given := "none"
	if flags := givenFlags(op.GetOptions().ProtoReflect()); len(flags) > 0 {
		given = strings.Join(flags, " ")
	}
	a.printf("  options:   %s\n", given)
	a.printKeepOperation(op) // keep.go
	if op.GetOutage() != nil {
		a.printf("  outage:    %s (LU away: delete-lu start until back with its views)\n", a.fmtDuration(op.GetOutage().AsDuration(), time.Millisecond))
	}
	if op.GetRecoveries() > 0 {
		with := ""
		if flags := givenFlags(op.GetRecoverOptions().ProtoReflect()); len(flags) > 0 {
			with = ", with " + strings.Join(flags, " ")
		}
		a.printf("  recovered: %s%s\n", timesWord(op.GetRecoveries()), with)
	}
	for _, r := range op.GetResumes() {
		how := "after a restart"
		switch r.GetTrigger() {
		case "recover":
			how = "by recover"
		case "finish", "abandon": // rescue_shell.go
			how = "by rescue --" + r.GetTrigger()
		}
		where := ""
		if r.GetStep() != "" {
			where = " in step " + r.GetStep()
		}
		a.printf("  resumed:   %s %s (stopped %s%s, %s)\n", a.fmtTime(r.GetTime().AsTime()), how,
			a.fmtTime(r.GetStopped().AsTime()), where, opWord(r.GetState()))
	}
	if len(op.GetResumes()) > 0 && op.GetActive() != nil {
		a.printf("  active:    %s (stood still the rest of the time)\n", a.fmtDuration(activeTime(op), time.Millisecond))
	}
	if op.GetError() != "" {
		a.printf("  error:     %s\n", op.GetError())
	}
	if op.GetAttention() != "" {
		a.printf("  attention: %s\n", op.GetAttention())
	}
	a.printResolution(op.GetResolution())
	if cs := op.GetCapabilities(); len(cs) > 0 {
		a.printf("Host capabilities when planned (the commands below were built from them):\n")
		a.printCapabilities("  ", cs)
	}
	// Not while it is captured (planned, step 0 running): nothing is yet.
	capturing := op.GetState() == v1.OperationState_OPERATION_STATE_PLANNED && len(op.GetSteps()) == 1
	if p := op.GetPlan(); p != nil && !capturing {
		a.printf("Captured identity:\n")
		a.printPlan(&v1.Plan{Volume: p.GetVolume(), Snapshot: p.GetSnapshot(), LogicalUnits: p.GetLogicalUnits(),
			Zones: p.GetZones(), NewerSnapshots: p.GetNewerSnapshots(), Warnings: p.GetWarnings(),
			Kind: p.GetKind(), UndoOf: p.GetUndoOf(), ForgetOf: p.GetForgetOf(), Kept: p.GetKept(), ForgetDatasets: p.GetForgetDatasets(),
			Rescue: p.GetRescue()}, false)
	}
	a.printf("Steps:\n")
	for _, s := range op.GetSteps() {
		d := ""
		if s.GetStarted() != nil && s.GetFinished() != nil {
			d = " (" + a.fmtDuration(s.GetFinished().AsTime().Sub(s.GetStarted().AsTime()), time.Microsecond) + ")"
		}
		window := ""
		if s.GetInOutageWindow() {
			window = " [outage window]"
		}
		a.printf("  %d. %-14s %s%s%s\n", s.GetIndex(), s.GetName(), stepWord(s.GetState()), d, window)
		if s.GetError() != "" {
			a.printf("       error: %s\n", s.GetError())
		}
		a.printCommands("", s.GetCommands())
		a.printCommands("undo ", s.GetCompensationCommands())
	}
}

func (a *app) printCommands(prefix string, cmds []*v1.CommandRun) {
	for _, c := range cmds {
		a.printf("       %s%s$ %s\n", prefix, onHost(c.GetHost()), strings.Join(c.GetArgv(), " "))
		a.printf("           exit %d, %s, at %s\n", c.GetExitCode(), a.fmtDuration(c.GetDuration().AsDuration(), time.Microsecond),
			a.fmtClock(c.GetStarted().AsTime()))
		if c.GetError() != "" {
			a.printf("           error: %s\n", c.GetError())
		}
		for _, l := range strings.Split(strings.TrimRight(c.GetStderr(), "\n"), "\n") {
			if l != "" {
				a.printf("           stderr: %s\n", l)
			}
		}
	}
}

func (a *app) recoverCmd() *cobra.Command {
	var repersist, initHostdata bool
	cmd := &cobra.Command{
		Use:   "recover ID",
		Short: "Retry an operation that needs attention: finish it, or restore what it changed",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := parseID(args[0])
			if err != nil {
				return err
			}
			c, err := a.dial()
			if err != nil {
				return err
			}
			defer c.Close()
			final, err := a.follow(func(show func(proto.Message)) (*v1.Operation, error) {
				return c.Recover(cmd.Context(), &v1.RecoverOperationRequest{Id: id, Repersist: repersist, InitializeHostdata: initHostdata}, func(m *v1.RecoverOperationResponse) { show(m) })
			})
			if err == nil && final != nil && !a.json() {
				a.printf("Operation %d recovered: %s\n", final.GetId(), recoveredEnd(final, repersist))
			}
			return err
		},
	}
	cmd.Flags().BoolVar(&repersist, "repersist", false,
		"put an LU that is online but no longer persisted by STMF back into its store: delete-lu -k, then import-lu (a brief outage)")
	cmd.Flags().BoolVar(&initHostdata, "initialize-hostdata", false,
		"attach the kernel zones of a rollback with --keep-hostdata with fresh host data after all (zoneadm attach -x initialize-hostdata), when the plain attach failed")
	return cmd
}

// recoveredEnd says which consistent end a recover brought the operation
// to (recover succeeds when it reaches one, either way; the operation's
// error, printed above, still says why the rollback itself failed).
func recoveredEnd(op *v1.Operation, repersist bool) string {
	switch op.GetState() {
	case v1.OperationState_OPERATION_STATE_SUCCEEDED:
		if _, g := targets(op); len(g) > 1 {
			return "rolled forward, the volumes are at " + strings.Join(g, ", ")
		}
		return "rolled forward, the volume is at " + op.GetSnapshot()
	case v1.OperationState_OPERATION_STATE_ROLLED_BACK:
		what := "rolled back, the LU, its views and the zones restored"
		if repersist {
			what += ", the LU persisted again"
		}
		return what + "; the volume is unchanged"
	}
	return opWord(op.GetState())
}
