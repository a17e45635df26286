package daemon

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/volctl/volctl/daemon/config"
)

// TestStepNames: the metrics get a series for every step each platform's
// sagas can have. The steps a backend can build are read from its source
// (every engine.Step{Name: "..."} literal in its package and in zvol, whose
// rollback step both use), so a new step that stepNames's operations do not
// reach fails here.
func TestStepNames(t *testing.T) {
	literal := regexp.MustCompile(`engine\.Step\{Name: "([^"]+)"`)
	for platform, dir := range map[string]string{"solaris": "solaris", "linux-tgt": "linuxtgt"} {
		t.Run(platform, func(t *testing.T) {
			files, err := filepath.Glob(filepath.Join(dir, "*.go"))
			if err != nil {
				t.Fatal(err)
			}
			shared, err := filepath.Glob(filepath.Join("zvol", "*.go"))
			if err != nil {
				t.Fatal(err)
			}
			files = append(files, shared...)
			var want []string
			for _, f := range files {
				if strings.HasSuffix(f, "_test.go") {
					continue
				}
				src, err := os.ReadFile(f)
				if err != nil {
					t.Fatal(err)
				}
				for _, m := range literal.FindAllStringSubmatch(string(src), -1) {
					if !slices.Contains(want, m[1]) {
						want = append(want, m[1])
					}
				}
			}
			if len(want) < 5 {
				t.Fatalf("found only %v in %s and zvol: has the step literal changed form?", want, dir)
			}
			cfg := config.Default()
			cfg.Platform = platform
			b, err := NewBackend(cfg)
			if err != nil {
				t.Fatal(err)
			}
			got := slices.Sorted(slices.Values(stepNames(b)))
			// The keep steps are zvol's constants (StepSetAside...), built
			// by its step builders, which this scan of literals does not
			// see: a name stepNames gives that is one of them is expected.
			keepConst := regexp.MustCompile(`(?m)^\s+Step[A-Z]\w* += "([^"]+)"$`)
			src, err := os.ReadFile(filepath.Join("zvol", "keepsteps.go"))
			if err != nil {
				t.Fatal(err)
			}
			for _, m := range keepConst.FindAllStringSubmatch(string(src), -1) {
				if slices.Contains(got, m[1]) && !slices.Contains(want, m[1]) {
					want = append(want, m[1])
				}
			}
			slices.Sort(want)
			if !slices.Equal(got, want) {
				t.Errorf("stepNames = %v\nthe source has %v", got, want)
			}
		})
	}
}
