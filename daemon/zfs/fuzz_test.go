package zfs

import (
	"github.com/volctl/volctl/internal/golden"
	"strings"
	"testing"
)

var nameSeeds = []string{
	"tank/vol", "tank/vol@s1", "tank/vol@", "@s", "/tank", "tank/", "a//b", "tank/vol@s1@s2",
	"tank/vol#bm", "tank/vol@bad*", "tank/my vol", "c0t0d0", "mirror", "tank/./x", "50%",
	"rpool/VARSHARE/zones/kzone1/disk0",
}

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

func FuzzValidateDatasetName(f *testing.F) {
	for _, s := range nameSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if ValidateDatasetName(s) != nil {
			return
		}
		if len(s) > MaxNameLen || strings.ContainsAny(s, " %@#;\x00") || strings.HasPrefix(s, "/") ||
			strings.HasSuffix(s, "/") || strings.Contains(s, "//") {
			t.Fatalf("accepted %q", s)
		}
	})
}

func FuzzValidateSnapshotName(f *testing.F) {
	for _, s := range nameSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ds, snap, err := SplitSnapshot(s)
		if (err == nil) != (ValidateSnapshotName(s) == nil) {
			t.Fatalf("SplitSnapshot and ValidateSnapshotName disagree on %q", s)
		}
		if err != nil {
			return
		}
		if ds+"@"+snap != s || ValidateDatasetName(ds) != nil || ValidateSnapComponent(snap) != nil {
			t.Fatalf("accepted %q as %q @ %q", s, ds, snap)
		}
	})
}

func FuzzValidateSnapComponent(f *testing.F) {
	for _, s := range []string{"s1", "", "a/b", "a@b", "a b", "..", "volctl-2024:x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if ValidateSnapComponent(s) == nil && (s == "" || strings.ContainsAny(s, "/@# %")) {
			t.Fatalf("accepted %q", s)
		}
	})
}
