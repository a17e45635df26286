//go:build unix

package daemon

import "golang.org/x/sys/unix"

// raiseNofile raises the soft RLIMIT_NOFILE to the hard limit and returns
// the limit now in force.
func raiseNofile() (uint64, error) {
	var r unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &r); err != nil {
		return 0, err
	}
	if r.Cur < r.Max {
		want := r
		want.Cur = r.Max
		if err := unix.Setrlimit(unix.RLIMIT_NOFILE, &want); err == nil {
			r = want
		}
	}
	return uint64(r.Cur), nil
}
