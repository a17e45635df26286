package cli

import (
	"strings"

	"github.com/spf13/cobra"
)

// examples are the commands' EXAMPLES (--help and the man pages), by
// command path below volctl, kept here together so that they read as one
// set.
var examples = map[string]string{
	"ls": `  volctl ls
  volctl ls -H | cut -f1,3        # each volume and its LUs, for a script`,
	"show": `  volctl show pool/idisk0         # LUs, views, zones, snapshots, and who is logged in
  volctl -o json show pool/idisk0 | jq '.volume.sessions'`,
	"snapshots": `  volctl snapshots pool/idisk0`,
	"snapshot": `  volctl snapshot pool/idisk0@before-patch
  volctl snapshot pool/idisk0@s1 pool/idisk1@s1   # one moment for both
  volctl snapshot --zone kz1 before-patch         # every disk of zone kz1`,
	"destroy-snapshot": `  volctl destroy-snapshot pool/idisk0@before-patch      # asks on a terminal
  volctl destroy-snapshot --yes pool/idisk0@before-patch`,
	"rollback": `  volctl rollback --dry-run pool/idisk0@snap1   # the plan, changing nothing
  volctl rollback pool/idisk0@snap1
  volctl rollback --halt-zones --zone kz1 before-patch
  volctl rollback --destroy-newer pool/idisk0@snap1     # asks on a terminal
  volctl rollback --keep pool/idisk0@snap1              # destroys nothing: volctl undo swaps back`,
	"undo": `  volctl undo --dry-run 12       # what comes back, what is kept, the exact commands
  volctl undo 12`,
	"kept": `  volctl kept --volume pool/idisk0`,
	"rescue": `  volctl check-boot kz1                          # why kz1 will not boot
  volctl rescue kz1 --with kzrescue --dry-run    # the exact commands; changes nothing
  volctl rescue kz1 --with kzrescue              # asks on a terminal`,
	"forget": `  volctl forget 12                   # what would be destroyed; changes nothing
  volctl forget 12 --destroy-kept    # asks on a terminal`,
	"history":  `  volctl history --volume pool/idisk0 --limit 5`,
	"op show":  `  volctl op show 12`,
	"op watch": `  volctl op watch 12             # from another terminal, while it runs`,
	"recover":  `  volctl recover 12`,
	"resolve":  `  volctl resolve 12 --reason "attached kz1 by hand after the zone host came back"`,
	"audit":    `  volctl audit --tail 20`,
	"status":   `  volctl status`,
	"check-boot": `  volctl check-boot kz1           # exit 0: will boot; 20: will not (with the rescue)
  volctl -o json check-boot kz1 | jq -r '.disks[].phys_path'`,
	"version": `  volctl version`,
	"completion bash": `  source <(volctl completion bash)
  volctl completion bash > /etc/bash_completion.d/volctl`,
}

// setExamples puts examples on root's commands.
func setExamples(root *cobra.Command) {
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		path := strings.TrimPrefix(strings.TrimPrefix(c.CommandPath(), root.Name()), " ")
		if ex, ok := examples[path]; ok && c.Example == "" {
			c.Example = ex
		}
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(root)
}
