package cli

import (
	"context"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/volctl/volctl/client"
	v1 "github.com/volctl/volctl/proto/volctl/v1"
)

func (a *app) snapshotsCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "snapshots POOL/VOL",
		Short: "List a volume's snapshots, oldest first",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := validateVolume(args[0]); err != nil {
				return err
			}
			return query(a, cmd, func(ctx context.Context, c *client.Client) (*v1.ListSnapshotsResponse, error) {
				return c.Snapshots.ListSnapshots(ctx, &v1.ListSnapshotsRequest{Volume: args[0]})
			}, func(resp *v1.ListSnapshotsResponse) error {
				tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "SNAPSHOT\tCREATED\tUSED\tREFERENCED")
				for _, s := range resp.GetSnapshots() {
					fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", s.GetName(), s.GetCreation().AsTime().UTC().Format(time.DateTime),
						bytesStr(s.GetUsed()), bytesStr(s.GetReferenced()))
				}
				return tw.Flush()
			})
		},
	}
}

func (a *app) snapshotCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "snapshot POOL/VOL@NAME",
		Short: "Take a snapshot of a volume",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := validateSnapshot(args[0]); err != nil {
				return err
			}
			return query(a, cmd, func(ctx context.Context, c *client.Client) (*v1.CreateSnapshotResponse, error) {
				return c.Snapshots.CreateSnapshot(ctx, &v1.CreateSnapshotRequest{Name: args[0]})
			}, func(resp *v1.CreateSnapshotResponse) error {
				a.printf("Created %s\n", resp.GetSnapshot().GetName())
				return nil
			})
		},
	}
}

func (a *app) destroySnapshotCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "destroy-snapshot POOL/VOL@NAME",
		Short: "Destroy one snapshot (never a volume)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := validateSnapshot(args[0]); err != nil {
				return err
			}
			return query(a, cmd, func(ctx context.Context, c *client.Client) (*v1.DestroySnapshotResponse, error) {
				return c.Snapshots.DestroySnapshot(ctx, &v1.DestroySnapshotRequest{Name: args[0]})
			}, func(resp *v1.DestroySnapshotResponse) error {
				a.printf("Destroyed %s\n", args[0])
				return nil
			})
		},
	}
}
