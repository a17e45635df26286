//go:build !linux

package sim

import "os"

// renameOver puts the file tmp at path in one step (rename_linux.go says
// what Linux does instead, and why).
func renameOver(tmp, path string) error { return os.Rename(tmp, path) }
