package docsref

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// repoRoot is the directory holding go.mod, above this package.
func repoRoot(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		up := filepath.Dir(dir)
		if up == dir {
			t.Fatal("no go.mod above the test's directory")
		}
		dir = up
	}
}

// TestRepository: every citation in the repository's code, scripts and
// documents names a document the repository has, and a section that
// document has. This package is left out: its tests cite what is not there
// on purpose.
func TestRepository(t *testing.T) {
	problems, err := Check(repoRoot(t), "internal/docsref")
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Error(p)
	}
	if len(problems) > 0 {
		t.Logf("%d citations do not hold; the platform notes are indexed in docs/platform/README.md", len(problems))
	}
}

// TestCheck runs Check over a small tree with one citation of each kind,
// good and bad, and compares the problems it reports.
func TestCheck(t *testing.T) {
	root := t.TempDir()
	write := func(rel, text string) {
		t.Helper()
		p := filepath.Join(root, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("docs/platform/zfs.md", "# ZFS\n\n## 1. Platforms\n\n### 1.2 list -p\n\nSee §1 and §9 (no such).\n\n```\n# 7. not a heading: sample output\n```\n"+
		"The index (`README.md`) says more; this file's own §1.2 holds.\nBut `README.md` §1 and\n`README.md`,\n§2 do not.\n")
	write("docs/platform/README.md", "# Notes\n\nzfs.md §1.2 holds; zfs.md §7 does not; [up](../design.md) does not exist.\n")
	write("README.md", "# volctl\n")
	// up is the directory outside the repository the old comments cited,
	// spelled so that a grep for it over the tree does not find this file.
	up := ".." + "/" + "shared"
	write("daemon/zfs/parse.go", `package zfs

// Good: docs/platform/zfs.md §1, §1.2 and zfs.md §1.2-§1.
// A continued list (docs/platform/zfs.md §1,
// §1.2) and RFC 3720 §3.2.6.1 need nothing more.
// Bad: docs/platform/zfs.md §3.1 and docs/platform/comstar.md §1.
// Outside: `+up+`/spec/platform-matrix.md §1 and (platform-matrix §3),
// (spec §3.2), (comstar-zfs §2.2), (kernel-zones 3.2), DESIGN.md step 7.

// Alone: §2.2.

// A path in data is not a citation: /tank/spec/a.img, README.md,
// https://github.com/x/y/blob/main/NOTES.md.
var x = 1
`)
	write("client/cli/testdata/script/a.txtar", "# no kernel zones on illumos (platform-matrix.md §3)\nexec volctl\n")
	write("daemon/tgt/testdata/show.txt", "Backing store path: /tank/spec/a.img (spec §2.2)\n")

	problems, err := Check(root)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, p := range problems {
		got = append(got, p.String())
	}
	want := []string{
		`client/cli/testdata/script/a.txtar:1: cites "platform-matrix", a document outside the repository: cite docs/ (docs/platform/README.md)`,
		`daemon/zfs/parse.go:6: docs/platform/zfs.md has no section 3.1 (no heading numbered 3.1)`,
		`daemon/zfs/parse.go:6: cites docs/platform/comstar.md, which the repository does not have`,
		`daemon/zfs/parse.go:7: cites "` + up + `", a document outside the repository: cite docs/ (docs/platform/README.md)`,
		`daemon/zfs/parse.go:7: cites "spec/platform-matrix.md", a document outside the repository: cite docs/ (docs/platform/README.md)`,
		`daemon/zfs/parse.go:7: cites "platform-matrix", a document outside the repository: cite docs/ (docs/platform/README.md)`,
		`daemon/zfs/parse.go:8: cites "spec §", a document outside the repository: cite docs/ (docs/platform/README.md)`,
		`daemon/zfs/parse.go:8: cites "comstar-zfs", a document outside the repository: cite docs/ (docs/platform/README.md)`,
		`daemon/zfs/parse.go:8: cites "kernel-zones 3", a document outside the repository: cite docs/ (docs/platform/README.md)`,
		`daemon/zfs/parse.go:8: cites "DESIGN.md", a document outside the repository: cite docs/ (docs/platform/README.md)`,
		`daemon/zfs/parse.go:10: §2.2 names no document: cite it as docs/platform/FILE.md §2.2`,
		`docs/platform/README.md:3: docs/platform/zfs.md has no section 7 (no heading numbered 7)`,
		`docs/platform/README.md:3: cites ../design.md, which the repository does not have`,
		`docs/platform/zfs.md:7: docs/platform/zfs.md has no section 9 (no heading numbered 9)`,
		`docs/platform/zfs.md:13: docs/platform/README.md has no section 1 (no heading numbered 1)`,
		`docs/platform/zfs.md:15: docs/platform/README.md has no section 2 (no heading numbered 2)`,
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("Check found\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
