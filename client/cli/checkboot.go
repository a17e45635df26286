package cli

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/volctl/volctl/client"
	v1 "github.com/volctl/volctl/proto/volctl/v1"
)

// exitWillNotBoot is check-boot's exit status when the zone's boot disk
// would not boot it: like status's attention (20), above every gRPC code
// and the usage status, so a script tells "will not boot" from "could not
// tell" (the error's code: 9 when the label cannot be read).
const exitWillNotBoot = 20

func (a *app) checkBootCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "check-boot ZONE",
		Short: "Say whether a kernel zone will boot from its boot disk, reading the root pool's label (read-only)",
		Long: `Read, from the storage host and read-only, the ZFS label of the root pool on
the kernel zone's boot disk (the device with bootpri set, or id 0; each of
them for a mirrored root pool) and say whether the zone will boot from it:
its pool, GUID, the host that last imported it (hostname, hostid), txg,
state, and the disk's path and phys_path. A kernel zone imports its root
pool by /zvnex/zvblk@ID:SLICE; after a 'zpool import' in a global zone the
label says that host's path instead, and the zone panics at boot. The
answer is certain only while the zone is halted (installed): its state is
shown with it. A rollback that boots a kernel zone runs the same check
first (step check-boot).

Exit status: 0 when the zone will boot; 20 when it will not (the verdict
and the rescue command are printed); 9 (failed precondition) when volctl
cannot tell (not a kernel zone, a boot disk that is not a volume of this
host, a label it cannot read: never "will boot"); 5 for no such zone; the
other codes as for every command.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var resp *v1.CheckBootResponse
			err := query(a, cmd, func(ctx context.Context, c *client.Client) (*v1.CheckBootResponse, error) {
				r, err := c.Boot.CheckBoot(ctx, &v1.CheckBootRequest{Zone: args[0]})
				resp = r
				return r, err
			}, func(r *v1.CheckBootResponse) error {
				a.printCheckBoot(r)
				return nil
			})
			if err != nil {
				return err
			}
			if !resp.GetBoots() {
				return &exitError{code: exitWillNotBoot, msg: fmt.Sprintf("%s will not boot from its boot disk (exit %d)", resp.GetZone(), exitWillNotBoot)}
			}
			return nil
		},
	}
}

func (a *app) printCheckBoot(r *v1.CheckBootResponse) {
	where := "this host"
	if r.GetHost() != "" {
		where = "peer " + r.GetHost()
	}
	verdict := "will boot"
	if !r.GetBoots() {
		verdict = "will NOT boot"
	}
	a.printf("zone %s (%s, on %s): %s\n", r.GetZone(), r.GetZoneState(), where, verdict)
	if r.GetZoneState() == "running" {
		a.printf("  the zone is running: its pool may rewrite the label while it is read; halt it for a certain answer\n")
	}
	for _, d := range r.GetDisks() {
		pri := "no bootpri"
		if d.GetBootpri() >= 0 {
			pri = fmt.Sprintf("bootpri %d", d.GetBootpri())
		}
		a.printf("  boot disk: device %d (%s), volume %s (%s)\n", d.GetDeviceId(), pri, d.GetVolume(), d.GetDevicePath())
		a.printf("    storage:    %s\n", d.GetStorage())
		a.printf("    root pool:  %s, guid %d, txg %d, %s\n", d.GetPool(), d.GetPoolGuid(), d.GetTxg(), d.GetPoolState())
		host := dash(d.GetHostname())
		if d.GetHostid() != "" {
			host += " (hostid " + d.GetHostid() + ")"
		}
		a.printf("    last host:  %s\n", host)
		a.printf("    labels:     %s slice %s, %d of 4 valid, %d agree\n", d.GetPartitionTable(), d.GetSlice(), d.GetValidLabels(), d.GetAgreeingLabels())
		a.printf("    path:       %s\n", dash(d.GetPath()))
		a.printf("    devid:      %s\n", dash(d.GetDevid()))
		mark := "ok"
		if !d.GetBoots() {
			mark = "WRONG: the zone opens " + d.GetWantPhysPath()
		}
		a.printf("    phys_path:  %s (%s)\n", dash(d.GetPhysPath()), mark)
	}
	a.printf("%s\n", r.GetVerdict())
	if r.GetAdvice() != "" {
		a.printf("To repair it: %s\n", r.GetAdvice())
	}
}
