package sim

import (
	"errors"
	"os"

	"golang.org/x/sys/unix"
)

// renameOver puts the file tmp at path in one step, as rename(2) does,
// but by exchanging the two names (renameat2 RENAME_EXCHANGE) and then
// removing the old file, now under tmp's name. On ext4 a rename over an
// existing file starts the new file's write-back at once (the
// auto_da_alloc heuristic, for programs that replace files without
// fsync; docs/simulator.md): that was 0.2 to 0.5 ms of every simulated
// command that changes the host, inside the host's lock, where a group's
// commands queue. An exchange does not start it (measured), and the old
// file's blocks, unlinked at once, are never written. A reader still finds either file whole at path, and
// path's inode changes as with a rename (the state cache relies on it).
// Where the exchange is not supported (another file system, an older
// kernel) or nothing is at path yet, it renames.
func renameOver(tmp, path string) error {
	err := unix.Renameat2(unix.AT_FDCWD, tmp, unix.AT_FDCWD, path, unix.RENAME_EXCHANGE)
	switch {
	case err == nil:
		// The new file is in place; what is left under tmp's name is
		// the old one, a dot file nothing reads.
		_ = os.Remove(tmp)
		return nil
	case errors.Is(err, unix.ENOENT), errors.Is(err, unix.EINVAL), errors.Is(err, unix.ENOSYS), errors.Is(err, unix.EOPNOTSUPP):
		return os.Rename(tmp, path)
	default:
		return &os.LinkError{Op: "renameat2", Old: tmp, New: path, Err: err}
	}
}
