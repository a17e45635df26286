package zfsname

import (
	"strings"
	"testing"
)

var nameSeeds = []string{
	"tank/vol", "tank/vol@s1", "tank/vol@", "@s", "/tank", "tank/", "a//b", "tank/vol@s1@s2",
	"tank/vol#bm", "tank/vol@bad*", "tank/my vol", "c0t0d0", "mirror", "tank/./x", "50%",
	"rpool/VARSHARE/zones/kzone1/disk0",
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
