package cli

import (
	"context"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/volctl/volctl/client"
	v1 "github.com/volctl/volctl/proto/volctl/v1"
)

// resolveCmd releases an operation that needs attention once the admin
// has put right by hand what it left. The reason is its confirmation: it
// is required, journaled with the operation and audited.
func (a *app) resolveCmd() *cobra.Command {
	var reason string
	cmd := &cobra.Command{
		Use:   "resolve ID --reason TEXT",
		Short: "Release an operation that needs attention after putting right by hand what it left",
		Long: `While an operation needs attention, a rollback, a dry run or a snapshot
destroy that touches its volumes or zones is refused (exit 9). Finish it with
'volctl recover ID'; or, when that cannot work, put right by hand what
'volctl op show ID' says it left, then release it with

    volctl resolve ID --reason "imported the LU and booted kz1 by hand"

It runs nothing on the host. The operation becomes 'resolved'; who resolved
it, when, why and what it had left are journaled with it (op show, history)
and in the audit trail.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := parseID(args[0])
			if err != nil {
				return err
			}
			if strings.TrimSpace(reason) == "" {
				return invalid("--reason is required: say what you put right by hand")
			}
			return query(a, cmd, func(ctx context.Context, c *client.Client) (*v1.ResolveOperationResponse, error) {
				return c.Operations.ResolveOperation(ctx, &v1.ResolveOperationRequest{Id: id, Reason: reason})
			}, func(resp *v1.ResolveOperationResponse) error {
				op := resp.GetOperation()
				a.printf("Operation %d %s: %s\n", op.GetId(), opWord(op.GetState()), targetText(op))
				a.printResolution(op.GetResolution())
				a.printf("  its volumes and zones are released; details: volctl op show %d\n", op.GetId())
				return nil
			})
		},
	}
	cmd.Flags().StringVar(&reason, "reason", "", "what you put right by hand (required; journaled and audited)")
	return cmd
}

// printResolution prints who resolved an operation, when, why, and what
// it had left.
func (a *app) printResolution(r *v1.Resolution) {
	if r == nil {
		return
	}
	a.printf("  resolved:  %s by %s: %s\n", a.fmtTime(r.GetTime().AsTime()), r.GetBy(), r.GetReason())
	if r.GetAttention() != "" {
		a.printf("  had left:  %s\n", r.GetAttention())
	}
}

// completeAttention completes the ids of the operations that need
// attention (of the newest 1000), newest first.
func (a *app) completeAttention(cmd *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
	if len(args) > 0 {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	var out []cobra.Completion
	a.withClient(cmd, func(ctx context.Context, c *client.Client) error {
		resp, err := c.Operations.ListOperations(ctx, &v1.ListOperationsRequest{PageSize: maxPage})
		for _, op := range resp.GetOperations() {
			id := fmt.Sprint(op.GetId())
			if op.GetState() == v1.OperationState_OPERATION_STATE_NEEDS_ATTENTION && strings.HasPrefix(id, toComplete) {
				_, snaps := targets(op)
				out = append(out, cobra.CompletionWithDesc(id, opWord(op.GetState())+" "+strings.Join(snaps, ",")))
			}
		}
		return err
	})
	return out, cobra.ShellCompDirectiveNoFileComp | cobra.ShellCompDirectiveKeepOrder
}
