package cli

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/volctl/volctl/client"
	v1 "github.com/volctl/volctl/proto/volctl/v1"
)

// Shell completion asks the daemon for names (volctl completion bash|zsh|
// fish writes the script). A daemon that is down or slow gives no
// completions, never an error: whatever a completion function prints
// lands in the user's command line.

// completeTimeout bounds a TAB's wait. A listing runs the host's commands
// (zfs list, stmfadm list-lu ...): tens of milliseconds on an idle host,
// but over 2 s on a loaded one (seen in the transcripts on a machine at
// load 20), and an empty answer is worse than a slow one.
const completeTimeout = 5 * time.Second

// completions registers the completion functions on the commands of root.
func (a *app) completions(root *cobra.Command) {
	for _, c := range root.Commands() {
		switch c.Name() {
		case "rollback", "destroy-snapshot":
			c.ValidArgsFunction = a.completeSnapshot
		case "snapshot":
			c.ValidArgsFunction = func(cmd *cobra.Command, _ []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
				if zoneSet(cmd) {
					return nil, cobra.ShellCompDirectiveNoFileComp
				}
				return a.completeVolume(cmd, toComplete, "@")
			}
		case "check-boot":
			c.ValidArgsFunction = a.completeZone
		case "snapshots", "show":
			c.ValidArgsFunction = a.completeOneVolume
		case "recover": // only an operation that needs attention can be recovered
			c.ValidArgsFunction = a.completeAttention
		case "resolve":
			c.ValidArgsFunction = a.completeAttention
		case "undo", "forget": // keep.go: the operations that keep a dataset now
			c.ValidArgsFunction = a.completeKept
		case "rescue": // rescue.go: ZONE, and --with
			c.ValidArgsFunction = a.completeZone
			_ = c.RegisterFlagCompletionFunc("with", a.completeZone)
		case "op":
			for _, sub := range c.Commands() {
				if sub.Name() == "show" || sub.Name() == "watch" {
					sub.ValidArgsFunction = a.completeOperation
				}
			}
		}
		if c.Flags().Lookup("zone") != nil {
			_ = c.RegisterFlagCompletionFunc("zone", a.completeZone)
		}
		if c.Flags().Lookup("volume") != nil {
			_ = c.RegisterFlagCompletionFunc("volume", func(cmd *cobra.Command, _ []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
				return a.completeVolume(cmd, toComplete, "")
			})
		}
	}
}

func zoneSet(cmd *cobra.Command) bool {
	f := cmd.Flags().Lookup("zone")
	return f != nil && f.Value.String() != ""
}

// withClient runs f with a client and a short deadline; false when the
// daemon cannot be reached.
func (a *app) withClient(cmd *cobra.Command, f func(context.Context, *client.Client) error) bool {
	c, err := a.dial()
	if err != nil {
		return false
	}
	defer c.Close()
	ctx := cmd.Context()
	if ctx == nil {
		ctx = context.Background()
	}
	ctx, cancel := context.WithTimeout(ctx, completeTimeout)
	defer cancel()
	return f(ctx, c) == nil
}

// completeSnapshot completes POOL/VOL@SNAP: a word without '@' yet to the
// volumes, each with its '@' and no space after it, so that the next tab
// completes that volume's snapshots.
func (a *app) completeSnapshot(cmd *cobra.Command, _ []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
	if zoneSet(cmd) {
		// With --zone the argument is a bare snapshot name.
		if cmd.Name() != "rollback" {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		return a.completeZoneSnapshot(cmd, cmd.Flags().Lookup("zone").Value.String(), toComplete)
	}
	vol, _, found := strings.Cut(toComplete, "@")
	if !found {
		return a.completeVolume(cmd, toComplete, "@")
	}
	var out []cobra.Completion
	a.withClient(cmd, func(ctx context.Context, c *client.Client) error {
		resp, err := c.Snapshots.ListSnapshots(ctx, &v1.ListSnapshotsRequest{Volume: vol})
		for _, s := range resp.GetSnapshots() {
			if strings.HasPrefix(s.GetName(), toComplete) {
				out = append(out, s.GetName())
			}
		}
		return err
	})
	return out, cobra.ShellCompDirectiveNoFileComp
}

// completeZoneSnapshot completes the snapshot names (after the '@') that
// every volume behind zone has: those 'volctl snapshot --zone' took, which
// 'rollback --zone' can go back to.
func (a *app) completeZoneSnapshot(cmd *cobra.Command, zone, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
	var out []cobra.Completion
	a.withClient(cmd, func(ctx context.Context, c *client.Client) error {
		resp, err := c.Volumes.ListVolumes(ctx, &v1.ListVolumesRequest{})
		count, vols := map[string]int{}, 0
		for _, v := range resp.GetVolumes() {
			if !slices.ContainsFunc(v.GetZones(), func(z *v1.Zone) bool { return z.GetName() == zone }) {
				continue
			}
			vols++
			for _, sn := range v.GetSnapshots() {
				if _, name, ok := strings.Cut(sn.GetName(), "@"); ok {
					count[name]++
				}
			}
		}
		for name, n := range count {
			if n == vols && strings.HasPrefix(name, toComplete) {
				out = append(out, name)
			}
		}
		return err
	})
	slices.Sort(out)
	return out, cobra.ShellCompDirectiveNoFileComp
}

func (a *app) completeOneVolume(cmd *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
	if len(args) > 0 {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	return a.completeVolume(cmd, toComplete, "")
}

// completeVolume completes volume names, each followed by suffix (and then
// no space, when there is a suffix).
func (a *app) completeVolume(cmd *cobra.Command, toComplete, suffix string) ([]cobra.Completion, cobra.ShellCompDirective) {
	var out []cobra.Completion
	a.withClient(cmd, func(ctx context.Context, c *client.Client) error {
		resp, err := c.Volumes.ListVolumes(ctx, &v1.ListVolumesRequest{})
		for _, v := range resp.GetVolumes() {
			if strings.HasPrefix(v.GetName(), toComplete) {
				out = append(out, v.GetName()+suffix)
			}
		}
		return err
	})
	d := cobra.ShellCompDirectiveNoFileComp
	if suffix != "" {
		d |= cobra.ShellCompDirectiveNoSpace
	}
	return out, d
}

// completeOperation completes operation ids, newest first, each described
// by its state and snapshot.
func (a *app) completeOperation(cmd *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
	if len(args) > 0 {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	var out []cobra.Completion
	a.withClient(cmd, func(ctx context.Context, c *client.Client) error {
		resp, err := c.Operations.ListOperations(ctx, &v1.ListOperationsRequest{PageSize: 100})
		for _, op := range resp.GetOperations() {
			id := fmt.Sprint(op.GetId())
			if strings.HasPrefix(id, toComplete) {
				_, snaps := targets(op)
				out = append(out, cobra.CompletionWithDesc(id, opWord(op.GetState())+" "+strings.Join(snaps, ",")))
			}
		}
		return err
	})
	return out, cobra.ShellCompDirectiveNoFileComp | cobra.ShellCompDirectiveKeepOrder
}

// completeZone completes --zone with the zones on the volumes.
func (a *app) completeZone(cmd *cobra.Command, _ []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
	var out []cobra.Completion
	a.withClient(cmd, func(ctx context.Context, c *client.Client) error {
		resp, err := c.Volumes.ListVolumes(ctx, &v1.ListVolumesRequest{})
		for _, v := range resp.GetVolumes() {
			for _, z := range v.GetZones() {
				if strings.HasPrefix(z.GetName(), toComplete) && !slices.Contains(out, z.GetName()) {
					out = append(out, z.GetName())
				}
			}
		}
		return err
	})
	slices.Sort(out)
	return out, cobra.ShellCompDirectiveNoFileComp
}
