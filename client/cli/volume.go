package cli

import (
	"context"
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/volctl/volctl/client"
	v1 "github.com/volctl/volctl/proto/volctl/v1"
)

func (a *app) lsCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "ls",
		Short: "List volumes with their LUs, views, snapshots and zones",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return query(a, cmd, func(ctx context.Context, c *client.Client) (*v1.ListVolumesResponse, error) {
				return allPages(func(token string) (*v1.ListVolumesResponse, error) {
					return c.Volumes.ListVolumes(ctx, &v1.ListVolumesRequest{PageToken: token})
				}, func(all, page *v1.ListVolumesResponse) {
					all.Volumes, all.NextPageToken = append(all.Volumes, page.Volumes...), page.NextPageToken
				}, nil)
			}, func(resp *v1.ListVolumesResponse) error {
				t := a.newTable("VOLUME", "VOLSIZE", "LU", "VIEWS", "SNAPSHOTS", "ZONES")
				for _, v := range resp.GetVolumes() {
					var guids []string
					views := 0
					for _, lu := range v.GetLogicalUnits() {
						guids = append(guids, lu.GetGuid()+luFlag(lu))
						views += len(lu.GetViews())
					}
					if len(v.GetUnplacedLogicalUnits()) > 0 {
						guids = append(guids, unplacedMark)
					}
					var zones []string
					for _, z := range v.GetZones() {
						zones = append(zones, z.GetName())
					}
					t.row(v.GetName(), a.fmtSize(v.GetVolsize()), strings.Join(guids, ","),
						fmt.Sprint(views), fmt.Sprint(len(v.GetSnapshots())), strings.Join(zones, ","))
				}
				a.warnUnplaced(resp.GetVolumes())
				if err := t.flush(); err != nil {
					return err
				}
				a.printHeld(resp.GetVolumes())
				return nil
			})
		},
	}
}

func (a *app) showCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "show POOL/VOL",
		Short: "Show a volume: its LUs with every property and view, snapshots, zones",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := validateVolume(args[0]); err != nil {
				return err
			}
			return query(a, cmd, func(ctx context.Context, c *client.Client) (*v1.GetVolumeResponse, error) {
				return c.Volumes.GetVolume(ctx, &v1.GetVolumeRequest{Name: args[0]})
			}, func(resp *v1.GetVolumeResponse) error {
				a.printVolume(resp.GetVolume())
				return nil
			})
		},
	}
}

func (a *app) printVolume(v *v1.Volume) {
	a.printf("Volume %s (%s, %s)\n", v.GetName(), v.GetType(), a.fmtSize(v.GetVolsize()))
	switch {
	case len(v.GetLogicalUnits()) == 0 && len(v.GetUnplacedLogicalUnits()) > 0:
		a.printf("  no LU volctl can read is backed by this volume (see below)\n")
	case len(v.GetLogicalUnits()) == 0:
		a.printf("  no LU is backed by this volume\n")
	}
	for _, lu := range v.GetLogicalUnits() {
		a.printf("  LU %s%s\n", lu.GetGuid(), luFlag(lu))
		tw := tabwriter.NewWriter(a.stdout, 0, 4, 1, ' ', 0)
		row := func(k, val string) { fmt.Fprintf(tw, "    %s\t%s\n", k+":", val) }
		row("Status", lu.GetOperationalStatus())
		row("Data file", lu.GetDataFile())
		row("Alias", dash(lu.GetAlias()))
		row("Size", fmt.Sprint(lu.GetSize()))
		row("Block size", fmt.Sprint(lu.GetBlockSize()))
		row("Vendor/Product", fmt.Sprintf("%q / %q", lu.GetVendorId(), lu.GetProductId()))
		row("Serial", dash(lu.GetSerial()))
		row("Write protect", fmt.Sprint(lu.GetWriteProtect()))
		row("Writeback cache disabled", fmt.Sprint(lu.GetWritebackCacheDisabled()))
		for k, val := range lu.GetProperties() {
			row(k, val)
		}
		_ = tw.Flush()
		if len(lu.GetViews()) == 0 {
			a.printf("    no views: no host can see this LU\n")
		}
		for _, vw := range lu.GetViews() {
			a.printf("    view %d: host group %s, target group %s, LUN %d\n", vw.GetEntry(), vw.GetHostGroup(), vw.GetTargetGroup(), vw.GetLun())
		}
	}
	for _, z := range v.GetZones() {
		a.printf("  zone %s (%s): %s, storage %s\n", z.GetName(), z.GetBrand(), z.GetState(), strings.Join(z.GetStorage(), ", "))
	}
	a.printf("  snapshots: %d", len(v.GetSnapshots()))
	for _, s := range v.GetSnapshots() {
		a.printf(" %s", s.GetName()[strings.Index(s.GetName(), "@"):])
	}
	a.printf("\n")
	if op := v.GetHeldBy(); op != nil {
		a.printf("  held: nothing rolls this volume back until the operation is finished\n")
		printAttention(a.stdout, "    ", op)
	}
	a.printShowExtra(v)
}

// printHeld follows ls's table with the operations that need attention
// and hold its volumes, once each: on stdout, or on stderr with -H so the
// table stays what scripts parse.
func (a *app) printHeld(vols []*v1.Volume) {
	seen := map[uint64]bool{}
	for _, v := range vols {
		op := v.GetHeldBy()
		if op == nil || seen[op.GetId()] {
			continue
		}
		if len(seen) == 0 && !a.scripted {
			a.printf("\n")
		}
		seen[op.GetId()] = true
		if a.scripted {
			printAttention(a.stderr, "volctl: ", op)
			continue
		}
		printAttention(a.stdout, "", op)
	}
}
