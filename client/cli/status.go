package cli

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/volctl/volctl/client"
	v1 "github.com/volctl/volctl/proto/volctl/v1"
)

func (a *app) statusCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "status",
		Short: "Show the daemon: version, platform, uptime, running operations, what needs attention, and who you are to it",
		Long: `Show the daemon: its version, platform and uptime, who you are to it, the
operations in flight (planned: being captured; running; compensating) and
those waiting for an admin (a rescue --shell, which holds its disk and zones
until rescue --finish or --abandon), each operation that needs attention with what it left and the command that
finishes it, and the host capabilities probed at start.

Exit status: 0, or 20 while an operation needs attention (so a monitor can
run it), or the gRPC code of a failure (14: volctld not running).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var attention []*v1.AttentionOperation
			err := query(a, cmd, func(ctx context.Context, c *client.Client) (*v1.GetStatusResponse, error) {
				resp, err := c.Status.GetStatus(ctx, &v1.GetStatusRequest{})
				attention = resp.GetAttention()
				return resp, err
			}, func(resp *v1.GetStatusResponse) error {
				a.printf("volctld %s on platform %s\n", resp.GetVersion(), resp.GetPlatform())
				a.printf("  up %s (since %s), journal schema %d\n", a.fmtDuration(resp.GetUptime().AsDuration(), time.Second),
					a.fmtTime(resp.GetStarted().AsTime()), resp.GetSchemaVersion())
				a.printf("  you are %s, role %s\n", resp.GetCaller(), resp.GetCallerRole())
				if len(resp.GetRunning()) == 0 {
					a.printf("  no operation running\n")
				}
				for _, op := range resp.GetRunning() {
					snaps := op.GetSnapshots() // every volume of a group
					if len(snaps) == 0 {
						snaps = []string{op.GetSnapshot()}
					}
					if op.GetState() == "waiting" { // store.OpWaiting: a rescue --shell
						a.printf("  waiting for an admin: operation %d %s (step %s); it holds its disk and zones until volctl rescue --finish %d (or --abandon %d)\n",
							op.GetId(), dash(op.GetVolume()), dash(op.GetStep()), op.GetId(), op.GetId())
						continue
					}
					a.printf("  running: operation %d %s (%s, step %s)\n", op.GetId(), strings.Join(snaps, ", "), op.GetState(), dash(op.GetStep()))
				}
				if len(resp.GetAttention()) == 0 {
					a.printf("  nothing needs attention\n")
				}
				for _, op := range resp.GetAttention() {
					printAttention(a.stdout, "  ", op)
				}
				if len(resp.GetCapabilities()) == 0 {
					a.printf("  host capabilities: not probed yet (the host's commands did not answer; see the daemon's log)\n")
				} else {
					a.printf("  host capabilities (probed at start):\n")
					a.printCapabilities("    ", resp.GetCapabilities())
				}
				return nil
			})
			if err != nil {
				return err
			}
			return attentionExit(attention)
		},
	}
}

func (a *app) auditCmd() *cobra.Command {
	var after uint64
	var limit, tail int
	var every bool
	cmd := &cobra.Command{
		Use:   "audit",
		Short: "Show the audit trail, newest first: who asked what, allowed or denied, and what came of it",
		Long: `Show the audit trail, newest first: the --tail newest records (50 unless
given), or --all of them. With --after SEQ, the records after SEQ, oldest
first (to follow the trail).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			f := cmd.Flags()
			switch {
			case limit < 0:
				return invalid("--limit %d is negative", limit)
			case tail < 1:
				return invalid("--tail %d: want at least 1 (or --all)", tail)
			case every && (f.Changed("tail") || f.Changed("limit")):
				return invalid("--all and --tail (or --limit) ask for different records; give one")
			case after > 0 && (every || f.Changed("tail")):
				return invalid("--after lists oldest first from SEQ; --all and --tail list newest first; give one")
			}
			if limit > 0 && !f.Changed("tail") && after == 0 {
				tail = limit // the old name, from before the trail was newest first
			}
			return query(a, cmd, func(ctx context.Context, c *client.Client) (*v1.ListAuditResponse, error) {
				if after > 0 {
					return c.Audit.ListAudit(ctx, &v1.ListAuditRequest{After: after, PageSize: int32(limit)})
				}
				got := 0
				return allPages(func(token string) (*v1.ListAuditResponse, error) {
					size := maxPage
					if !every {
						size = min(tail-got, maxPage)
					}
					resp, err := c.Audit.ListAudit(ctx, &v1.ListAuditRequest{PageSize: int32(size), PageToken: token})
					got += len(resp.GetRecords())
					return resp, err
				}, func(all, page *v1.ListAuditResponse) {
					all.Records, all.NextPageToken = append(all.Records, page.Records...), page.NextPageToken
				}, func(*v1.ListAuditResponse) bool { return !every && got >= tail })
			}, func(resp *v1.ListAuditResponse) error {
				t := a.newTable("SEQ", "TIME", "WHO", "ROLE", "METHOD", "TARGET", "ALLOWED", "RESULT", "OP")
				for _, r := range resp.GetRecords() {
					op := "-"
					if r.GetOperationId() != 0 {
						op = fmt.Sprint(r.GetOperationId())
					}
					t.row(fmt.Sprint(r.GetSeq()), a.fmtTime(r.GetTime().AsTime()),
						r.GetWho(), r.GetRole(), strings.TrimPrefix(r.GetMethod(), "/volctl.v1."), r.GetTarget(),
						fmt.Sprint(r.GetAllowed()), r.GetResult(), op)
				}
				return t.flush()
			})
		},
	}
	cmd.Flags().Uint64Var(&after, "after", 0, "the records after this sequence number, oldest first")
	cmd.Flags().IntVar(&tail, "tail", 50, "the newest this many records")
	cmd.Flags().BoolVar(&every, "all", false, "every record, newest first")
	cmd.Flags().IntVar(&limit, "limit", 0, "with --after: at most this many records (0: the daemon's default); else the old name of --tail")
	return cmd
}
