//go:build solaris

// (GOOS=illumos satisfies the solaris build constraint too.)

package execx

import (
	"errors"
	"io/fs"
	"os"
	"strconv"
	"syscall"
)

// readProc reads one process's psinfo (errNoProc if there is none).
func readProc(pid int) (procInfo, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/psinfo")
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ESRCH) {
		return procInfo{}, errNoProc
	}
	if err != nil {
		return procInfo{}, err
	}
	return parsePsinfo(b, pid)
}

// readArgs: psinfo, which readProc read, holds pr_psargs already.
func readArgs(*procInfo) error { return nil }

// bootID: pr_start counts from the epoch, so a process of another boot
// never has a recorded start time; nothing more to tell.
func bootID() (string, error) { return "", nil }
