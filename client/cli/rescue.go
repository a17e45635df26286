package cli

// volctl rescue (issue 23, docs/rescue.md): a kernel zone's boot disk
// label repaired in a rescue kernel zone, as one operation (kind rescue)
// followed like a rollback.

import (
	"context"
	"fmt"

	"github.com/google/uuid"
	"github.com/spf13/cobra"
	"google.golang.org/protobuf/proto"

	"github.com/volctl/volctl/client"
	v1 "github.com/volctl/volctl/proto/volctl/v1"
)

// kindRescue is a rescue's Operation.kind and Plan.kind.
const kindRescue = "rescue"

type rescueFlags struct {
	with              string
	dryRun, wait, yes bool
	requestID         string
	// shell, finish, abandon: rescue_shell.go
	shell           bool
	finish, abandon uint64
}

func (a *app) rescueCmd() *cobra.Command {
	var rf rescueFlags
	cmd := &cobra.Command{
		Use:   "rescue ZONE --with RESCUE_ZONE",
		Short: "Repair a kernel zone's boot disk label in a rescue kernel zone",
		Long: `Repair the root pool label of kernel zone ZONE so that it boots again,
after its pool was imported elsewhere (in the global zone: the label then
carries that host's path, and the zone panics at boot; volctl check-boot
ZONE says so). As one transaction, like a rollback: ZONE's boot disk is
added to RESCUE_ZONE (a kernel zone whose own boot disk does not use
device id 0) as device id 0, RESCUE_ZONE is booted, the pool is imported
there (zlogin RESCUE_ZONE zpool import -R /mnt/1 -N -f -t ZONE ...) and
exported, which writes the path a kernel zone sees; RESCUE_ZONE is shut
down, the device removed, and the label read again. Each step is
journaled and shown; a failure before the export undoes what was done; a
rescue interrupted by a crash is resumed.

ZONE must be installed (not running); RESCUE_ZONE installed. Ask the
volctld of the host that serves ZONE's boot disk. Both zones must be
configured on one host: that one, or a zone host among its peers, whose
volctld then runs the zone commands (the plan marks them with its name).
Progress, confirmation and exit status are rollback's.

With --shell the rescue stops after the import, in state waiting (exit
0), with the pool imported in RESCUE_ZONE under /mnt/1, nothing mounted,
for you to change its files: zlogin RESCUE_ZONE, zfs mount
ZONE/ROOT/BE, and so on (volctl prints the steps). The zones and the
disk stay held meanwhile, also across a restart of volctld. Then
volctl rescue --finish OP exports the pool (which writes the path ZONE
boots from), shuts RESCUE_ZONE down, removes the disk and checks the
label, as the same operation; or volctl rescue --abandon OP undoes the
rescue instead (the pool exported, RESCUE_ZONE shut down, the disk
removed; your changes stay; the label is not checked). Both take
--dry-run; both refuse an operation that does not wait (exit 9).`,
		Args: cobra.RangeArgs(0, 1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if rf.finish != 0 || rf.abandon != 0 { // rescue_shell.go
				return a.endWait(cmd.Context(), &rf, args)
			}
			if len(args) != 1 {
				return usageError{fmt.Errorf("rescue: name the zone to rescue (volctl rescue ZONE --with RESCUE_ZONE), or a waiting rescue with --finish OP or --abandon OP")}
			}
			return a.rescue(cmd.Context(), &rf, args[0])
		},
	}
	f := cmd.Flags()
	f.StringVar(&rf.with, "with", "", "the rescue kernel zone (installed; its own boot disk not device id 0)")
	f.BoolVar(&rf.dryRun, "dry-run", false, "show the plan (both zones checked, exact commands) and change nothing")
	f.BoolVar(&rf.wait, "wait", false, "wait for a running operation on the zones or the disk instead of failing")
	f.StringVar(&rf.requestID, "request-id", "", "idempotency key: the same id returns the same operation (default: a new UUID)")
	yesFlag(cmd, &rf.yes)
	a.shellFlags(cmd, &rf) // rescue_shell.go
	return cmd
}

func (a *app) rescue(ctx context.Context, rf *rescueFlags, zone string) error {
	if rf.with == "" {
		return usageError{fmt.Errorf("rescue %s: name the rescue zone with --with RESCUE_ZONE", zone)}
	}
	if zone == rf.with {
		return usageError{fmt.Errorf("rescue %s --with %s: a zone cannot rescue itself", zone, rf.with)}
	}
	for _, z := range []string{zone, rf.with} {
		if err := validateZone(z); err != nil {
			return err
		}
	}
	c, err := a.dial()
	if err != nil {
		return err
	}
	defer c.Close()
	plan := &v1.PlanRescueRequest{Zone: zone, With: rf.with, Shell: rf.shell}
	if rf.dryRun {
		resp, err := c.Rollbacks.PlanRescue(ctx, plan)
		return a.printPlanAnswer(resp.GetPlan(), err, func(p *v1.Plan) proto.Message { return &v1.PlanRescueResponse{Plan: p} })
	}
	if err := a.confirmRescue(ctx, c, rf.yes, plan); err != nil {
		return err
	}
	if rf.requestID == "" {
		rf.requestID = uuid.NewString()
	}
	req := &v1.RescueRequest{Zone: zone, With: rf.with, RequestId: rf.requestID, Wait: rf.wait, Shell: rf.shell}
	return a.followStream(ctx, c, fmt.Sprintf("the rescue of zone %s", zone), req.GetRequestId(), !req.GetWait(),
		func(show func(proto.Message)) (*v1.Operation, error) {
			return c.Rescue(ctx, req, func(m *v1.RescueResponse) { show(m) })
		})
}

// confirmRescue asks, on a terminal and unless yes, before a rescue, from
// its plan (a refused plan is the rescue's refusal).
func (a *app) confirmRescue(ctx context.Context, c *client.Client, yes bool, req *v1.PlanRescueRequest) error {
	return a.confirmRescuePlan(ctx, c, yes, req, "Rescue it?", rescueWhat)
}

// confirmRescuePlan asks question, on a terminal and unless yes, after
// what describe says of the rescue plan req gives (a refused plan is the
// refusal of what was asked).
func (a *app) confirmRescuePlan(ctx context.Context, c *client.Client, yes bool, req *v1.PlanRescueRequest,
	question string, describe func(*v1.RescueTarget) []string) error {
	if yes || !a.term.Interactive() {
		return nil
	}
	resp, err := c.Rollbacks.PlanRescue(ctx, req)
	if err != nil {
		return err
	}
	return a.confirm(ctx, yes, describe(resp.GetPlan().GetRescue()), question)
}

// rescueWhat is what a new rescue does, for its confirmation.
func rescueWhat(r *v1.RescueTarget) []string {
	what := []string{fmt.Sprintf("This adds %s's boot disk (%s) to %s, boots %s, imports and exports the pool there, and shuts %s down again.",
		r.GetZone(), r.GetStorage(), r.GetWith(), r.GetWith(), r.GetWith())}
	if r.GetShell() {
		what = []string{fmt.Sprintf("This adds %s's boot disk (%s) to %s, boots %s and imports the pool there, then waits for you (volctl rescue --finish).",
			r.GetZone(), r.GetStorage(), r.GetWith(), r.GetWith())}
	}
	return what
}

// printRescueHeader is the first lines of a rescue's plan.
func (a *app) printRescueHeader(p *v1.Plan) {
	r := p.GetRescue()
	on := ""
	if h := r.GetHost(); h != "" {
		on = " on peer " + h
	}
	a.printf("Rescue zone %s's boot disk in zone %s%s\n", r.GetZone(), r.GetWith(), on)
	if r.GetStorage() == "" {
		return
	}
	pool := r.GetPool()
	if r.GetPoolGuid() != 0 {
		pool = fmt.Sprintf("%s (GUID %d)", pool, r.GetPoolGuid())
	}
	a.printf("  boot disk %s (volume %s) as device id %d in %s\n", r.GetStorage(), p.GetVolume(), r.GetDeviceId(), r.GetWith())
	if r.GetShell() {
		a.printf("  pool %s imported as %s under %s there, left imported for you until volctl rescue --finish\n", pool, r.GetTempName(), r.GetAltroot())
		return
	}
	a.printf("  pool %s imported as %s under %s there, then exported\n", pool, r.GetTempName(), r.GetAltroot())
}
