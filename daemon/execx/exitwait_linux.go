//go:build linux

package execx

import (
	"os"

	"golang.org/x/sys/unix"
)

// awaitExit returns once process pid has exited, without reaping it, so
// that the Wait that follows does not block. It waits parked in the Go
// runtime's poller (a pidfd turns readable when its process exits) instead
// of in a system call.
//
// Why: os.Process.Wait blocks its OS thread in waitid(2) while holding its
// P (the runtime's right to run Go code), and a P held by a blocked system
// call is taken back only by the runtime's monitor, which sleeps up to
// 10 ms when the program looks idle. With GOMAXPROCS at the CPU count (two
// on a small storage host), two commands waiting in waitid held both, and
// everything else waited for the monitor: a group's eight zfs rollbacks
// started two at a time, about 9 ms apart, and commands the host had
// finished were seen to end up to 18 ms later (BenchmarkRollbackGroup's
// outage window, issue 24).
//
// Where pidfd_open(2) or the poller cannot be had (a kernel before 5.10,
// which has no PIDFD_NONBLOCK), it returns at once and Wait blocks as it
// always did.
func awaitExit(pid int) {
	fd, err := unix.PidfdOpen(pid, unix.PIDFD_NONBLOCK)
	if err != nil {
		return
	}
	f := os.NewFile(uintptr(fd), "pidfd")
	defer f.Close()
	rc, err := f.SyscallConn()
	if err != nil {
		return
	}
	_ = rc.Read(func(fd uintptr) bool {
		// WNOWAIT leaves the process for Wait to reap. Without a
		// child to report, WNOHANG leaves info zeroed.
		var info unix.Siginfo
		err := unix.Waitid(unix.P_PIDFD, int(fd), &info, unix.WEXITED|unix.WNOHANG|unix.WNOWAIT, nil)
		return err != nil || info.Signo != 0
	})
}
