//go:build linux

package execx

import (
	"errors"
	"io/fs"
	"os"
	"strconv"
	"strings"
	"syscall"
)

// readProc reads one process (errNoProc if there is none).
func readProc(pid int) (procInfo, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ESRCH) {
		return procInfo{}, errNoProc
	}
	if err != nil {
		return procInfo{}, err
	}
	return parseStat(b)
}

// readArgs adds the process's argument list (cmdline: NUL-separated).
func readArgs(p *procInfo) error {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(p.Pid) + "/cmdline")
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ESRCH) {
		return errNoProc
	}
	if err != nil {
		return err
	}
	p.Args = strings.ReplaceAll(strings.TrimSuffix(string(b), "\x00"), "\x00", " ")
	return nil
}

// bootID tells one boot of the host from the next: Linux start times
// count from boot, so a record from another boot names nothing alive.
func bootID() (string, error) {
	b, err := os.ReadFile("/proc/sys/kernel/random/boot_id")
	if err != nil {
		return "", err
	}
	return strings.TrimSpace(string(b)), nil
}
