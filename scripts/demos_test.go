// Package scripts holds the demo scripts of the README's set-up; its test
// runs them, so that a change of wording or behaviour they check cannot
// leave `make demo`, `make demo-keep`, `make demo-rescue` or `make demo-two-hosts` failing unnoticed (the two-host
// demo once failed every run after a message it looks for changed).
package scripts

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

func TestDemos(t *testing.T) {
	if testing.Short() {
		t.Skip("the demos build the binaries and start daemons")
	}
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	for _, demo := range []string{"demo.sh", "demo-keep.sh", "demo-rescue.sh", "demo-two-hosts.sh"} {
		t.Run(demo, func(t *testing.T) {
			cmd := exec.Command("bash", filepath.Join("scripts", demo))
			cmd.Dir = root
			cmd.Env = append(os.Environ(), "VOLCTL_DEMO_DIR="+t.TempDir())
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("%s: %v\n%s", demo, err, out)
			}
		})
	}
}
