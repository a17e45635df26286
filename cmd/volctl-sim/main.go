// Command volctl-sim is the simulated Solaris host's multi-call binary:
// linked as zfs, zpool, stmfadm, zoneadm or zonecfg it acts as that command on the
// state under ROOT; run as volctl-sim it manages that state (see sim.Main).
package main

import (
	"os"

	"github.com/volctl/volctl/sim"
)

func main() {
	os.Exit(sim.Main(os.Args, os.Stdin, os.Stdout, os.Stderr))
}
