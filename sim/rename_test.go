package sim

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// TestRenameOver: the new file is at path whole, under its own inode (the
// state cache tells a replaced state file by its inode), and nothing is
// left under the temporary name; with nothing at path it still lands.
func TestRenameOver(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "state.json")
	inode := func(p string) uint64 {
		t.Helper()
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		return fi.Sys().(*syscall.Stat_t).Ino
	}
	for i, content := range []string{"first\n", "second, longer\n", "3\n"} {
		tmp := filepath.Join(dir, ".state-tmp.json")
		if err := os.WriteFile(tmp, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		want := inode(tmp)
		if err := renameOver(tmp, path); err != nil {
			t.Fatalf("write %d: %v", i, err)
		}
		got, err := os.ReadFile(path)
		if err != nil || string(got) != content {
			t.Fatalf("write %d: path holds %q (%v), want %q", i, got, err, content)
		}
		if ino := inode(path); ino != want {
			t.Errorf("write %d: path's inode is %d, want the new file's %d", i, ino, want)
		}
		if _, err := os.Lstat(tmp); !os.IsNotExist(err) {
			t.Errorf("write %d: the temporary name is still there (%v)", i, err)
		}
	}
	ents, err := os.ReadDir(dir)
	if err != nil || len(ents) != 1 {
		t.Errorf("the directory holds %v (%v), want state.json alone", ents, err)
	}
}
