package zfs

import (
	"github.com/volctl/volctl/internal/golden"
	"strings"
	"testing"
)

func FuzzParseList(f *testing.F) {
	golden.Seed(f, "snapshots", "get", "datasets")
	f.Fuzz(func(t *testing.T, b []byte) {
		cols := []string{"a", "b", "c", "d"}
		rows, err := ParseList(b, cols)
		if err != nil {
			return
		}
		for _, r := range rows {
			if len(r) != len(cols) {
				t.Fatalf("row %v", r)
			}
		}
	})
}

func FuzzParseDatasets(f *testing.F) {
	golden.Seed(f, "datasets")
	f.Fuzz(func(t *testing.T, b []byte) {
		ds, err := ParseDatasets(b)
		if err == nil {
			for _, d := range ds {
				if d.Name == "" {
					t.Fatalf("empty name")
				}
			}
		}
	})
}

func FuzzParseSnapshots(f *testing.F) {
	golden.Seed(f, "snapshots")
	f.Fuzz(func(t *testing.T, b []byte) {
		snaps, err := ParseSnapshots(b)
		if err != nil {
			return
		}
		for _, s := range snaps {
			if s.Dataset+"@"+s.Snap != s.Name || s.Dataset == "" || s.Snap == "" {
				t.Fatalf("split %+v", s)
			}
		}
	})
}

func FuzzParseGet(f *testing.F) {
	golden.Seed(f, "get")
	f.Fuzz(func(t *testing.T, b []byte) {
		props, err := ParseGet(b)
		if err == nil {
			for _, p := range props {
				if p.Name == "" || p.Property == "" {
					t.Fatalf("prop %+v", p)
				}
			}
		}
	})
}

func FuzzParseRollbackNewer(f *testing.F) {
	golden.Seed(f, "rollback")
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, n := range ParseRollbackNewer(b) {
			if !strings.ContainsAny(n, "@#") || strings.ContainsAny(n, "\n") {
				t.Fatalf("name %q", n)
			}
		}
		_, _ = IsBusy(b), IsNotExist(b)
	})
}
