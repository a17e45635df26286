package cli

// volctl rescue --shell, --finish OP, --abandon OP (docs/rescue.md §5): a
// rescue that stops, waiting, with the pool imported in the rescue zone
// for the admin, and the two ways to end the wait.

import (
	"context"
	"fmt"
	"strings"

	"github.com/spf13/cobra"
	"google.golang.org/protobuf/proto"

	"github.com/volctl/volctl/client"
	v1 "github.com/volctl/volctl/proto/volctl/v1"
)

func (a *app) shellFlags(cmd *cobra.Command, rf *rescueFlags) {
	f := cmd.Flags()
	f.BoolVar(&rf.shell, "shell", false, "stop after the import, the pool imported in RESCUE_ZONE under /mnt/1 for you to change files; finish with --finish OP")
	f.Uint64Var(&rf.finish, "finish", 0, "go on with waiting rescue OP: export the pool, shut the rescue zone down, remove the disk, check the label")
	f.Uint64Var(&rf.abandon, "abandon", 0, "undo waiting rescue OP instead: export the pool, shut the rescue zone down, remove the disk (your changes stay)")
	_ = cmd.RegisterFlagCompletionFunc("finish", a.completeWaiting)
	_ = cmd.RegisterFlagCompletionFunc("abandon", a.completeWaiting)
}

// endWait is rescue --finish OP and --abandon OP.
func (a *app) endWait(ctx context.Context, rf *rescueFlags, args []string) error {
	switch {
	case rf.finish != 0 && rf.abandon != 0:
		return usageError{fmt.Errorf("rescue: --finish %d and --abandon %d: name one", rf.finish, rf.abandon)}
	case len(args) > 0 || rf.with != "" || rf.shell:
		return usageError{fmt.Errorf("rescue --finish/--abandon OP names a waiting rescue by its operation id alone: ZONE, --with and --shell start a new one")}
	case rf.requestID != "" || rf.wait:
		return usageError{fmt.Errorf("rescue --finish/--abandon OP takes no --request-id or --wait")}
	}
	c, err := a.dial()
	if err != nil {
		return err
	}
	defer c.Close()
	plan := &v1.PlanRescueRequest{Finish: rf.finish, Abandon: rf.abandon}
	if rf.dryRun {
		resp, err := c.Rollbacks.PlanRescue(ctx, plan)
		return a.printPlanAnswer(resp.GetPlan(), err, func(p *v1.Plan) proto.Message { return &v1.PlanRescueResponse{Plan: p} })
	}
	what, id := "finish", rf.finish
	if rf.abandon != 0 {
		what, id = "abandon", rf.abandon
		if err := a.confirmAbandon(ctx, c, rf.yes, plan); err != nil {
			return err
		}
	}
	req := &v1.RescueRequest{Finish: rf.finish, Abandon: rf.abandon}
	return a.followStream(ctx, c, fmt.Sprintf("the %s of rescue %d", what, id), "", false,
		func(show func(proto.Message)) (*v1.Operation, error) {
			return c.Rescue(ctx, req, func(m *v1.RescueResponse) { show(m) })
		})
}

// confirmAbandon asks, on a terminal and unless yes, before an abandon
// (a refused plan is the abandon's refusal).
func (a *app) confirmAbandon(ctx context.Context, c *client.Client, yes bool, req *v1.PlanRescueRequest) error {
	return a.confirmRescuePlan(ctx, c, yes, req, "Abandon the rescue?", func(r *v1.RescueTarget) []string {
		return []string{fmt.Sprintf("This exports %s in %s, shuts %s down and removes %s's disk from it, without checking the label; what you changed stays.",
			r.GetTempName(), r.GetWith(), r.GetWith(), r.GetZone())}
	})
}

// printWaiting is what a waiting rescue asks of the admin, step by step
// (the operation's attention says the same in one paragraph).
func (a *app) printWaiting(op *v1.Operation) {
	r := op.GetRescue()
	if r == nil || r.GetTempName() == "" {
		a.printf("  waiting for you: %s\n", op.GetAttention())
		return
	}
	id, t := op.GetId(), r.GetTempName()
	a.printf("  waiting for you: %s's root pool is imported in zone %s as %s under %s, nothing mounted.\n", r.GetZone(), r.GetWith(), t, r.GetAltroot())
	a.printf("  To change its files:\n")
	a.printf("    zlogin %s\n", r.GetWith())
	a.printf("    zfs list -r -o name,canmount,mountpoint %s     # the boot environments: %s/ROOT/BE\n", t, t)
	a.printf("    zfs mount %s/ROOT/BE                          # mounts it on %s\n", t, r.GetAltroot())
	a.printf("    ... change files under %s ...\n", r.GetAltroot())
	a.printf("    cd /; zfs unmount %s/ROOT/BE; exit             # leave the pool imported\n", t)
	a.printf("  Then: volctl rescue --finish %d   (export, which writes the path %s boots from; shut %s down; remove the disk; check the label)\n",
		id, r.GetZone(), r.GetWith())
	a.printf("  Or:   volctl rescue --abandon %d  (undo: export, shut %s down, remove the disk; your changes stay, the label is not checked)\n", id, r.GetWith())
}

// completeWaiting completes the ids of the operations that wait for an
// admin (of the newest 1000), newest first.
func (a *app) completeWaiting(cmd *cobra.Command, _ []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
	var out []cobra.Completion
	a.withClient(cmd, func(ctx context.Context, c *client.Client) error {
		resp, err := c.Operations.ListOperations(ctx, &v1.ListOperationsRequest{PageSize: maxPage})
		for _, op := range resp.GetOperations() {
			id := fmt.Sprint(op.GetId())
			if op.GetState() == v1.OperationState_OPERATION_STATE_WAITING && strings.HasPrefix(id, toComplete) {
				out = append(out, cobra.CompletionWithDesc(id, "waiting rescue of "+op.GetRescue().GetZone()))
			}
		}
		return err
	})
	return out, cobra.ShellCompDirectiveNoFileComp | cobra.ShellCompDirectiveKeepOrder
}
