package comstar

import (
	"github.com/volctl/volctl/internal/golden"
	"strings"
	"testing"
)

func FuzzParseListLU(f *testing.F) {
	golden.Seed(f, "listlu", "lureadable")
	f.Fuzz(func(t *testing.T, b []byte) {
		lus, err := ParseListLU(b)
		if err != nil {
			return
		}
		for _, lu := range lus {
			// A data file the rules call readable is one volctl has.
			if lu.Registered && lu.UnreadDataFile() == nil && lu.DataFile == "" {
				t.Fatalf("LU %s: data file readable but empty (%q)", lu.GUID, lu.Printed["Data File"])
			}
			if ValidateGUID(lu.GUID) != nil || lu.GUID != NormalizeGUID(lu.GUID) {
				t.Fatalf("bad GUID %q", lu.GUID)
			}
			if lu.ViewEntryCount < -1 {
				t.Fatalf("count %d", lu.ViewEntryCount)
			}
		}
	})
}

func FuzzParseListView(f *testing.F) {
	golden.Seed(f, "listview")
	f.Fuzz(func(t *testing.T, b []byte) {
		vs, err := ParseListView(b)
		if err != nil {
			return
		}
		for _, v := range vs {
			if v.HostGroup == "" || v.TargetGroup == "" || v.LUN < -1 || v.LUN > 16383 || v.Entry < 0 {
				t.Fatalf("bad view %+v", v)
			}
			_ = v.Key()
		}
	})
}

func FuzzParseImportLU(f *testing.F) {
	golden.Seed(f, "importlu", "createlu")
	f.Fuzz(func(t *testing.T, b []byte) {
		if g, err := ParseImportLU(b); err == nil && (ValidateGUID(g) != nil || g != NormalizeGUID(g)) {
			t.Fatalf("bad GUID %q", g)
		}
	})
}

func FuzzParseCreateLU(f *testing.F) {
	golden.Seed(f, "importlu", "createlu")
	f.Fuzz(func(t *testing.T, b []byte) {
		if g, err := ParseCreateLU(b); err == nil && (ValidateGUID(g) != nil || g != NormalizeGUID(g)) {
			t.Fatalf("bad GUID %q", g)
		}
	})
}

func FuzzParseListHG(f *testing.F) {
	golden.Seed(f, "listhg", "listtg")
	f.Fuzz(func(t *testing.T, b []byte) {
		gs, err := ParseListHG(b)
		if err != nil {
			return
		}
		for name, members := range gs {
			if name == "" || members == nil {
				t.Fatalf("group %q members %v", name, members)
			}
		}
	})
}

func FuzzStderrClassifiers(f *testing.F) {
	for _, s := range []string{
		"stmfadm: 600144f04dcd4b000000571ef1b00001: no views found\n", "stmfadm: resource busy\n",
		"stmfadm: meta file error\n", "stmfadm: guid in use\n",
		"stmfadm: filename /dev/zvol/rdsk/tank/vol1: in use\n", "stmfadm: view entry exists\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		_ = IsNoViews(b) || IsBusy(b) || IsMetaFileError(b) || IsGUIDInUse(b) || IsFileInUse(b) || IsViewExists(b)
	})
}

func FuzzValidateGUID(f *testing.F) {
	for _, s := range []string{"600144F04DCD4B000000571EF1B00001", "600144F0XXXXXXXXXXXXXXXXXXXXXXXX", "600144f04dcd4b000000571ef1b00001", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if ValidateGUID(s) == nil && (len(s) != 32 || ValidateGUID(NormalizeGUID(s)) != nil) {
			t.Fatalf("accepted %q", s)
		}
	})
}

func FuzzValidateGroupName(f *testing.F) {
	for _, s := range []string{"hg1", "tg1", "All", "-x", "a b", "iqn.1998-01.com.vmware:esx1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if ValidateGroupName(s) != nil {
			return
		}
		if s == "" || len(s) > MaxGroupNameLen || strings.ContainsAny(s, " \t\n|;$`") || s[0] == '-' {
			t.Fatalf("accepted %q", s)
		}
	})
}
