package cli

import (
	"context"
	"regexp"
	"strings"

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
				return allPages(func(token string) (*v1.ListSnapshotsResponse, error) {
					return c.Snapshots.ListSnapshots(ctx, &v1.ListSnapshotsRequest{Volume: args[0], PageToken: token})
				}, func(all, page *v1.ListSnapshotsResponse) {
					all.Snapshots, all.NextPageToken = append(all.Snapshots, page.Snapshots...), page.NextPageToken
				}, nil)
			}, func(resp *v1.ListSnapshotsResponse) error {
				t := a.newTable("SNAPSHOT", "CREATED", "USED", "REFERENCED")
				for _, s := range resp.GetSnapshots() {
					t.row(s.GetName(), a.fmtTime(s.GetCreation().AsTime()), a.fmtSize(s.GetUsed()), a.fmtSize(s.GetReferenced()))
				}
				return t.flush()
			})
		},
	}
}

func (a *app) snapshotCmd() *cobra.Command {
	var zone string
	cmd := &cobra.Command{
		Use:   "snapshot POOL/VOL@NAME... | --zone ZONE NAME",
		Short: "Take a snapshot of volumes, as one moment (all at one moment, or none)",
		Long: `Take snapshots of volumes, all at one moment, or none. Several POOL/VOL@NAME
take one snapshot of each volume; --zone ZONE NAME takes NAME of every
volume behind the zone's devices (its boot disk, both halves of a mirrored
root pool, its data disks), on this host or a peer's, so that a later
volctl rollback --zone ZONE NAME brings them back together.

Where the host's zfs takes several snapshots in one command (illumos), one
command takes them. Oracle Solaris takes one per command: there zfs snapshot
-r PARENT@NAME takes them at once when they are all the datasets below
PARENT (it takes PARENT@NAME too, and says so); otherwise they are taken one
after the other, only while nothing can write to them (every zone on them
installed or configured, on this host and the peers, and no other initiator
logged in to their LUs); else the request is refused, saying why, and
nothing is taken. The output says which way was used.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			req := &v1.CreateSnapshotRequest{Name: args[0], MoreNames: args[1:], Zone: zone}
			if zone != "" {
				if len(args) != 1 {
					return invalid("with --zone, give one snapshot name (the part after '@'), got %d arguments", len(args))
				}
				if err := validateZone(zone); err != nil {
					return err
				}
				if strings.ContainsAny(args[0], "@/") {
					return invalid("with --zone, give only the snapshot's name (the part after '@'), not %q", args[0])
				}
			} else {
				for _, n := range args {
					if err := validateSnapshot(n); err != nil {
						return err
					}
				}
			}
			return query(a, cmd, func(ctx context.Context, c *client.Client) (*v1.CreateSnapshotResponse, error) {
				return c.Snapshots.CreateSnapshot(ctx, req)
			}, func(resp *v1.CreateSnapshotResponse) error {
				snaps := resp.GetSnapshots()
				if len(snaps) == 0 {
					snaps = []*v1.Snapshot{resp.GetSnapshot()}
				}
				for _, s := range snaps {
					a.printf("Created %s\n", s.GetName())
				}
				for _, s := range resp.GetAlsoTaken() {
					a.printf("Also created %s\n", s)
				}
				if len(snaps) > 1 {
					how := resp.GetMethod()
					if how == "" {
						// A volctld from before the method was reported
						// took a group with one command.
						how = "taken atomically by one zfs snapshot"
					}
					a.printf("(%d snapshots, %s)\n", len(snaps), how)
				}
				return nil
			})
		},
	}
	cmd.Flags().StringVar(&zone, "zone", "", "snapshot every volume behind this zone's devices")
	return cmd
}

func (a *app) destroySnapshotCmd() *cobra.Command {
	var yes bool
	cmd := &cobra.Command{
		Use:   "destroy-snapshot POOL/VOL@NAME",
		Short: "Destroy one snapshot (never a volume)",
		Long: `Destroy one snapshot (never a volume). On a terminal volctl first says which
snapshot goes and asks; --yes does not ask. Without a terminal nothing is
asked.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := validateSnapshot(args[0]); err != nil {
				return err
			}
			return query(a, cmd, func(ctx context.Context, c *client.Client) (*v1.DestroySnapshotResponse, error) {
				if err := a.confirmDestroy(ctx, c, yes, args[0]); err != nil {
					return nil, err
				}
				return c.Snapshots.DestroySnapshot(ctx, &v1.DestroySnapshotRequest{Name: args[0]})
			}, func(resp *v1.DestroySnapshotResponse) error {
				a.printf("Destroyed %s\n", args[0])
				return nil
			})
		},
	}
	yesFlag(cmd, &yes)
	return cmd
}

// zoneNameRE is zonecfg's rule for a zone name: up to 64 characters,
// letters, digits, '-', '_' and '.', starting with a letter or digit.
var zoneNameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$`)

func validateZone(name string) error {
	if !zoneNameRE.MatchString(name) {
		return invalid("zone name %q: want letters, digits, '-', '_' and '.', starting with a letter or digit, at most 64", name)
	}
	return nil
}
