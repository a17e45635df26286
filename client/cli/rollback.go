package cli

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/spf13/cobra"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/volctl/volctl/client"
	"github.com/volctl/volctl/internal/zfsname"
	v1 "github.com/volctl/volctl/proto/volctl/v1"
)

// rollbackFlags are rollback's flags.
type rollbackFlags struct {
	opts              v1.RollbackOptions
	dryRun, wait, yes bool
	requestID, zone   string
}

func (a *app) rollbackCmd() *cobra.Command {
	var rf rollbackFlags
	cmd := &cobra.Command{
		Use:   "rollback POOL/VOL@SNAP... | --zone ZONE SNAP",
		Short: "Roll a volume back to a snapshot, keeping its LU identity and views",
		Long: `Roll a volume back to a snapshot as one transaction: the LU is deleted keeping
its views, the volume rolled back, the LU re-imported with the same GUID and
properties, missing views added back exactly (host group, target group, LUN),
everything verified, and kernel zones on the volume re-attached with fresh host
data and booted if they ran. Progress streams live; a failure before the
rollback restores everything, one after it is retried and then left for
'volctl recover'.

Several POOL/VOL@SNAP, or --zone ZONE SNAP (every volume behind the zone's
devices, as 'volctl snapshot --zone' took them), go back as one operation:
the zones stop once, every LU goes and comes back in one outage window, and
once one volume is rolled back the others are finished forward, never left
half. Rolling back one disk of a zone that has others is refused unless
they are named too, or --only-these-disks.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error { return a.rollback(cmd.Context(), &rf, args) },
	}
	rf.register(cmd)
	return cmd
}

// register adds rollback's flags to cmd.
func (rf *rollbackFlags) register(cmd *cobra.Command) {
	f := cmd.Flags()
	f.BoolVar(&rf.dryRun, "dry-run", false, "show the plan (identity captured, exact commands) and change nothing")
	f.BoolVar(&rf.opts.HaltZones, "halt-zones", false, "stop zones running on the volume: shut down, halted if that hangs (booted again afterwards)")
	f.BoolVar(&rf.opts.DestroyNewer, "destroy-newer", false, "allow destroying snapshots newer than the target")
	f.BoolVar(&rf.opts.Keep, "keep", false,
		"destroy nothing: the volume's data and newer snapshots stay in a kept dataset (volctl kept; volctl undo swaps back)")
	f.BoolVar(&rf.opts.KeepHostdata, "keep-hostdata", false, "attach zones plainly instead of re-initialising their host data")
	f.BoolVar(&rf.opts.AcceptSessions, "accept-sessions", false,
		"allow the rollback while initiators that are not known consumers can see the LU (Linux/tgt: connected to its target; Solaris: logged in to a target a view exposes it through)")
	f.StringArrayVar(&rf.opts.SkipPeers, "skip-peer", nil, "go on without this configured peer (zone host) when it does not answer; repeatable")
	f.StringVar(&rf.zone, "zone", "", "roll back SNAP of every volume behind this zone's devices, as one operation")
	f.BoolVar(&rf.opts.OnlyTheseDisks, "only-these-disks", false, "roll back only the volumes named, though a zone on them has other disks (they stay as they are)")
	f.BoolVar(&rf.wait, "wait", false, "wait for a running operation on the volume instead of failing")
	f.StringVar(&rf.requestID, "request-id", "", "idempotency key: the same id returns the same operation (default: a new UUID)")
	yesFlag(cmd, &rf.yes)
}

// rollback checks the arguments before anything is sent, then shows the
// plan (--dry-run) or runs the rollback and follows it.
func (a *app) rollback(ctx context.Context, rf *rollbackFlags, args []string) error {
	if err := checkKeep(&rf.opts); err != nil { // keep.go
		return err
	}
	if err := checkRollbackArgs(rf.zone, args); err != nil {
		return err
	}
	c, err := a.dial()
	if err != nil {
		return err
	}
	defer c.Close()
	snap, more := args[0], args[1:]
	if rf.dryRun {
		return a.planRollback(ctx, c, &v1.PlanRollbackRequest{Snapshot: snap, MoreSnapshots: more, Zone: rf.zone, Options: &rf.opts})
	}
	if rf.opts.DestroyNewer {
		if err := a.confirmDestroyNewer(ctx, c, rf.yes, &v1.PlanRollbackRequest{Snapshot: snap, MoreSnapshots: more, Zone: rf.zone, Options: &rf.opts}); err != nil {
			return err
		}
	}
	if rf.requestID == "" {
		rf.requestID = uuid.NewString()
	}
	return a.followRollback(ctx, c, &v1.RollbackRequest{Snapshot: snap, MoreSnapshots: more, Zone: rf.zone, Options: &rf.opts,
		RequestId: rf.requestID, Wait: rf.wait})
}

// checkRollbackArgs: with --zone one snapshot name (after '@'), a valid
// zone; without, every argument a POOL/VOL@SNAP.
func checkRollbackArgs(zone string, args []string) error {
	if zone == "" {
		for _, n := range args {
			if err := validateSnapshot(n); err != nil {
				return err
			}
		}
		return nil
	}
	if len(args) != 1 {
		return invalid("with --zone, give one snapshot name (the part after '@'), got %d arguments", len(args))
	}
	if err := validateZone(zone); err != nil {
		return err
	}
	if strings.ContainsAny(args[0], "@/") {
		return invalid("with --zone, give only the snapshot's name (the part after '@'), not %q", args[0])
	}
	return nil
}

// planRollback is the dry run: the plan, in text or JSON.
func (a *app) planRollback(ctx context.Context, c *client.Client, req *v1.PlanRollbackRequest) error {
	resp, err := c.Rollbacks.PlanRollback(ctx, req)
	if err != nil {
		// A missing consent comes with the plan it would run:
		// show it, then the error says which consent.
		if p := planOf(err); p != nil {
			if a.json() {
				_ = a.printJSON(&v1.PlanRollbackResponse{Plan: p}, true)
			} else {
				a.printPlan(p, true)
			}
		}
		return err
	}
	if a.json() {
		return a.printJSON(resp, true)
	}
	a.printPlan(resp.GetPlan(), true)
	return nil
}

// followRollback runs the rollback and follows its stream to the end.
func (a *app) followRollback(ctx context.Context, c *client.Client, req *v1.RollbackRequest) error {
	var opID uint64
	final, err := a.follow(func(show func(proto.Message)) (*v1.Operation, error) {
		return c.Rollback(ctx, req, func(m *v1.RollbackResponse) {
			// Not from step 0's start (the planned operation's id): a
			// planning stops when its caller goes (see interrupted).
			if id := m.GetStep().GetOperationId(); id != 0 && m.GetStep().GetIndex() > 0 {
				opID = id
			}
			show(m)
		})
	})
	if final == nil && ctx.Err() != nil {
		return interrupted(opID, req.GetRequestId(), req.GetSnapshot(), func() requestAnswer { return askRequest(c, req.GetRequestId()) })
	}
	if final == nil && status.Code(err) == codes.Unavailable {
		return connectionLost(err, opID, req.GetRequestId(), req.GetSnapshot())
	}
	if st, ok := status.FromError(err); ok && final == nil && st.Code() == codes.Aborted && !req.GetWait() {
		// Busy: of the commands that meet a busy volume only
		// rollback can wait for it. The details (the holder's id)
		// stay.
		p := st.Proto()
		p.Message += "; or pass --wait to wait for it"
		return status.FromProto(p).Err()
	}
	return err
}

// planOf is the plan a refused dry run carries in its status details.
func planOf(err error) *v1.Plan {
	st, ok := status.FromError(err)
	if !ok {
		return nil
	}
	for _, d := range st.Details() {
		if p, ok := d.(*v1.Plan); ok {
			return p
		}
	}
	return nil
}

// interrupted is what an interrupted volctl says: the rollback runs in
// volctld, not here, and goes on; how to find it again. Before the stream
// named the operation, it asks volctld (ask) whether it started
// (interruptedPlanning, callers.go).
func interrupted(opID uint64, requestID, snap string, ask func() requestAnswer) error {
	if opID != 0 {
		return status.Errorf(codes.Canceled, "interrupted: operation %d continues in volctld: volctl op watch %d", opID, opID)
	}
	return interruptedPlanning(ask(), requestID, snap)
}

// validateSnapshot rejects bad names before anything is sent.
func validateSnapshot(name string) error {
	if name == "" {
		return invalid("empty snapshot name: want POOL/VOL@SNAP")
	}
	if err := zfsname.ValidateSnapshotName(name); err != nil {
		return invalid("%v: want POOL/VOL@SNAP", err)
	}
	return nil
}

func validateVolume(name string) error {
	if name == "" {
		return invalid("empty volume name: want POOL/VOL")
	}
	if strings.Contains(name, "@") {
		return invalid("%q is a snapshot name: want a volume, POOL/VOL", name)
	}
	if err := zfsname.ValidateDatasetName(name); err != nil {
		return invalid("%v", err)
	}
	return nil
}

func (a *app) printPlan(p *v1.Plan, withCommands bool) {
	switch g := p.GetGroup(); {
	case p.GetKind() == kindUndo || p.GetKind() == kindForget:
		a.printKeepHeader(p) // keep.go
	case p.GetKind() == kindRescue:
		a.printRescueHeader(p) // rescue.go
	case len(g) > 1:
		a.printf("Roll back %d volumes as one operation (one outage window): %s\n", len(g), strings.Join(g, ", "))
	default:
		a.printf("Roll %s back to %s\n", p.GetVolume(), p.GetSnapshot())
	}
	for _, lu := range p.GetLogicalUnits() {
		a.printf("  LU %s  %s  (%s, %d bytes)\n", lu.GetGuid(), lu.GetDataFile(), lu.GetOperationalStatus(), lu.GetSize())
		for _, v := range lu.GetViews() {
			a.printf("    view %d: host group %s, target group %s, LUN %d\n", v.GetEntry(), v.GetHostGroup(), v.GetTargetGroup(), v.GetLun())
		}
	}
	for _, z := range p.GetZones() {
		where := ""
		if z.GetHost() != "" {
			where = " on peer " + z.GetHost()
		}
		a.printf("  zone %s%s (%s, %s) on %s\n", z.GetName(), where, z.GetBrand(), z.GetState(), strings.Join(z.GetStorage(), ", "))
	}
	for _, s := range p.GetNewerSnapshots() {
		if len(p.GetKept()) > 0 { // a keep: they move to the kept dataset
			a.printf("  keeps newer snapshot %s in the kept dataset\n", s)
			continue
		}
		a.printf("  destroys newer snapshot %s\n", s)
	}
	a.printKeptPlan(p) // keep.go
	for _, w := range p.GetWarnings() {
		a.printf("  warning: %s\n", w)
	}
	if !withCommands {
		return
	}
	a.printf("Steps:\n")
	for i, s := range p.GetSteps() {
		window := ""
		if s.GetInOutageWindow() {
			window = "  [outage window]"
		}
		a.printf("  %d. %s: %s%s\n", i, s.GetName(), s.GetDescription(), window)
		for _, c := range s.GetCommands() {
			a.printf("       %s%s\n", onHost(c.GetHost()), strings.Join(c.GetArgv(), " "))
		}
	}
	a.printf("Dry run: nothing was changed.\n")
}

// progress renders step events as they arrive. The stream calls step; a
// ticker (tick) may print from its own goroutine, so both hold mu.
type progress struct {
	a       *app
	plan    *v1.Plan
	started map[int32]time.Time

	mu sync.Mutex
	// running are the commands started and not yet ended, by cmdKey, each
	// with its start; printed is when progress last printed a line.
	running map[string][]time.Time
	printed time.Time
	// lastStart is the command whose running line was the last line
	// printed: its end then prints only "exit N, duration" under it, so a
	// command reads as one entry; after anything else, the end repeats the
	// command line (steps of a group run commands side by side).
	lastStart string
	// waitingSince is when volctld said the rollback waits for another
	// operation (--wait), until the plan comes.
	waitingSince time.Time
}

func newProgress(a *app) *progress { return &progress{a: a, started: map[int32]time.Time{}} }

// planned is the plan's arrival: a wait (--wait) is over.
func (p *progress) planned() {
	p.mu.Lock()
	p.waitingSince = time.Time{}
	p.mu.Unlock()
}

// follow is how rollback, recover and op watch show an operation's stream:
// run calls show with each message; JSON prints them one per line, text
// renders the plan and the steps (with a still-running ticker) and, at the
// end, the result.
func (a *app) follow(run func(show func(proto.Message)) (*v1.Operation, error)) (*v1.Operation, error) {
	p := newProgress(a)
	stop := p.tick(stillRunningEvery)
	final, err := run(func(m proto.Message) {
		if a.json() {
			_ = a.printJSON(m, false)
			return
		}
		if m, ok := m.(interface{ GetPlan() *v1.Plan }); ok && m.GetPlan() != nil {
			p.planned()
			p.plan = m.GetPlan()
			a.printPlan(p.plan, false)
		}
		if m, ok := m.(interface{ GetStep() *v1.StepEvent }); ok && m.GetStep() != nil {
			p.step(m.GetStep())
		}
	})
	stop()
	if final != nil && !a.json() {
		a.printResult(final)
	}
	return final, err
}

func (p *progress) counter(i int32) string {
	if p.plan == nil {
		return fmt.Sprintf("[%d]", i)
	}
	return fmt.Sprintf("[%d/%d]", i, len(p.plan.GetSteps())-1)
}

// cmdKey names a command of a step, to pair its end with its start.
func cmdKey(i int32, c *v1.CommandRun) string {
	return fmt.Sprint(i, "\x00", c.GetHost(), "\x00", strings.Join(c.GetArgv(), "\x00"))
}

func cmdLine(c *v1.CommandRun) string {
	return onHost(c.GetHost()) + "$ " + strings.Join(c.GetArgv(), " ")
}

func (p *progress) step(e *v1.StepEvent) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.printed = time.Now()
	if p.running == nil {
		p.running = map[string][]time.Time{}
	}
	a := p.a
	lastStart := p.lastStart
	p.lastStart = ""
	verb := ""
	if e.GetCompensation() {
		verb = "undo "
	}
	switch {
	case e.GetCommandStarted() != nil:
		c := e.GetCommandStarted()
		k := cmdKey(e.GetIndex(), c)
		p.running[k] = append(p.running[k], c.GetStarted().AsTime())
		a.printf("      running: %s\n", cmdLine(c))
		p.lastStart = k
	case e.GetCommand() != nil:
		c := e.GetCommand()
		k := cmdKey(e.GetIndex(), c)
		if len(p.running[k]) > 1 {
			p.running[k] = p.running[k][1:]
		} else {
			delete(p.running, k)
		}
		result := fmt.Sprintf("exit %d, %s", c.GetExitCode(), c.GetDuration().AsDuration().Round(time.Millisecond))
		if k == lastStart {
			a.printf("               %s\n", result) // under the "$" of its running line
		} else {
			a.printf("      %s  (%s)\n", cmdLine(c), result)
		}
		if c.GetError() != "" {
			a.printf("        error: %s\n", c.GetError())
		}
		for _, l := range strings.Split(strings.TrimSpace(c.GetStderr()), "\n") {
			if l != "" {
				a.printf("        %s\n", l)
			}
		}
	case e.GetOperationId() == 0 && e.GetMessage() != "":
		// Before the operation exists: what a --wait waits for.
		a.printf("%s\n", e.GetMessage())
		p.waitingSince = p.printed
	case e.GetMessage() != "":
		a.printf("      note: %s\n", e.GetMessage())
	case e.GetIndex() == 0 && e.GetState() == v1.StepState_STEP_STATE_RUNNING && !e.GetCompensation():
		// The operation exists from its capture on: its id comes first.
		// It holds its volumes' locks: a wait (--wait) is over.
		a.printf("Operation %d planned: capturing the identity to restore (nothing changes yet)\n", e.GetOperationId())
		p.waitingSince = time.Time{}
	default:
		switch e.GetState() {
		case v1.StepState_STEP_STATE_RUNNING, v1.StepState_STEP_STATE_COMPENSATING:
			p.started[e.GetIndex()] = e.GetTime().AsTime()
			a.printf("%s %s%s\n", p.counter(e.GetIndex()), verb, e.GetName())
		default:
			// A step whose start this stream did not see (a resume picked
			// up mid-step) has no duration to show, rather than one
			// counted from year 1.
			start, seen := p.started[e.GetIndex()]
			if !seen {
				a.printf("      %s%s %s\n", verb, e.GetName(), stepWord(e.GetState()))
				break
			}
			d := e.GetTime().AsTime().Sub(start).Round(time.Millisecond)
			a.printf("      %s%s %s (%s)\n", verb, e.GetName(), stepWord(e.GetState()), d)
		}
	}
}

// stillRunning prints, when nothing was printed for every, each command
// that has started and not ended, with how long it has run: a long zfs
// rollback or zone shutdown shows it is alive.
func (p *progress) stillRunning(now time.Time, every time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if now.Sub(p.printed) < every {
		return
	}
	if len(p.running) == 0 {
		if !p.waitingSince.IsZero() {
			p.a.printf("      still waiting (%s)\n", now.Sub(p.waitingSince).Round(time.Second))
			p.printed = now
		}
		return
	}
	type cmd struct {
		line  string
		since time.Time
	}
	var cmds []cmd
	for k, starts := range p.running {
		parts := strings.Split(k, "\x00")
		c := &v1.CommandRun{Host: parts[1], Argv: parts[2:]}
		for _, t := range starts {
			cmds = append(cmds, cmd{cmdLine(c), t})
		}
	}
	slices.SortFunc(cmds, func(x, y cmd) int { return x.since.Compare(y.since) })
	for _, c := range cmds {
		p.a.printf("      still running: %s (%s)\n", c.line, now.Sub(c.since).Round(time.Second))
	}
	p.printed = now
}

// tick calls stillRunning every period until the returned stop is called
// (text output only: JSON carries the events themselves).
func (p *progress) tick(period time.Duration) (stop func()) {
	if p.a.json() {
		return func() {}
	}
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		t := time.NewTicker(period)
		defer t.Stop()
		for {
			select {
			case now := <-t.C:
				p.stillRunning(now, period)
			case <-done:
				return
			}
		}
	}()
	return func() { close(done); <-finished }
}

// stillRunningEvery is how often a long command is said to be running.
const stillRunningEvery = 10 * time.Second

func (a *app) printResult(op *v1.Operation) {
	// The operation's duration is its active time, as history and op
	// show have it (activeTime).
	total := a.fmtDuration(activeTime(op), time.Millisecond)
	a.printf("Operation %d %s: %s in %s", op.GetId(), opWord(op.GetState()), targetText(op), total)
	if op.GetOutage() != nil {
		a.printf(", LU outage window %s", a.fmtDuration(op.GetOutage().AsDuration(), time.Millisecond))
	}
	a.printf("\n")
	if op.GetError() != "" {
		a.printf("  error: %s\n", op.GetError())
	}
	switch {
	case op.GetState() == v1.OperationState_OPERATION_STATE_WAITING:
		a.printWaiting(op) // rescue_shell.go
	case op.GetAttention() != "":
		a.printf("  needs attention: %s\n", op.GetAttention())
	}
	a.printResolution(op.GetResolution())
	a.printKeptResult(op) // keep.go
	a.printf("  details: volctl op show %d\n", op.GetId())
}
