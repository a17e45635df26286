package execx

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// procInfo is what the fence reads of one process from /proc
// (docs/platform/process-fencing.md §2): enough to tell the process that a
// record names from a later one with a reused pid, and to find the members
// of its process group.
type procInfo struct {
	Pid, PPid, Pgid, Sid int
	// Start is when the process started, in the platform's unit: clock
	// ticks since boot on Linux (/proc/PID/stat field 22), nanoseconds
	// since the epoch on Solaris and illumos (psinfo pr_start). Only
	// compared with other Starts of the same host and boot. 0 when the
	// platform does not show it (a zombie on Solaris).
	Start uint64
	// Zombie: the process has exited and waits to be reaped; it can do
	// nothing more, so the fence counts it as gone.
	Zombie bool
	// Args is what /proc shows of the argument list: every argument on
	// Linux (cmdline), the first 79 bytes joined by spaces on Solaris
	// (pr_psargs; see argsMatch). Read only by listProcs.
	Args string
	// ArgsPrefix: Args may be cut short (Solaris).
	ArgsPrefix bool
}

// errNoProc is a process that does not exist (any more).
var errNoProc = errors.New("no such process")

// parseStat reads /proc/PID/stat on Linux (proc(5)): "pid (comm) state
// ppid pgrp session ... starttime ...". comm may hold spaces and
// parentheses, so the fields are counted from the last ')'. Field 3 is the
// state, 4 ppid, 5 pgrp, 6 session, 22 starttime.
func parseStat(b []byte) (procInfo, error) {
	s := string(bytes.TrimSpace(b))
	open, closing := strings.IndexByte(s, '('), strings.LastIndexByte(s, ')')
	if open < 1 || closing < open {
		return procInfo{}, fmt.Errorf("/proc stat %q: no (comm)", Cap(s, 128))
	}
	pid, err := strconv.Atoi(strings.TrimSpace(s[:open]))
	if err != nil {
		return procInfo{}, fmt.Errorf("/proc stat %q: pid: %v", Cap(s, 128), err)
	}
	f := strings.Fields(s[closing+1:])
	if len(f) < 20 {
		return procInfo{}, fmt.Errorf("/proc stat %q: %d fields after comm, want at least 20", Cap(s, 128), len(f))
	}
	p := procInfo{Pid: pid, Zombie: f[0] == "Z" || f[0] == "X" || f[0] == "x"}
	ints := []*int{&p.PPid, &p.Pgid, &p.Sid}
	for i, dst := range ints {
		if *dst, err = strconv.Atoi(f[1+i]); err != nil {
			return procInfo{}, fmt.Errorf("/proc stat %q: field %d: %v", Cap(s, 128), 4+i, err)
		}
	}
	if p.Start, err = strconv.ParseUint(f[19], 10, 64); err != nil {
		return procInfo{}, fmt.Errorf("/proc stat %q: starttime: %v", Cap(s, 128), err)
	}
	return p, nil
}

// The LP64 layout of psinfo_t (Solaris and illumos <sys/procfs.h>; Go
// runs there on amd64 only): the offsets the fence reads.
const (
	psNlwp   = 4   // int pr_nlwp: 0 for a zombie
	psPid    = 8   // pid_t pr_pid
	psPpid   = 12  // pid_t pr_ppid
	psPgid   = 16  // pid_t pr_pgid
	psSid    = 20  // pid_t pr_sid
	psStart  = 88  // timestruc_t pr_start: int64 tv_sec, int64 tv_nsec
	psArgs   = 152 // char pr_psargs[PRARGSZ]
	psArgsSz = 80  // PRARGSZ
	psMin    = psArgs + psArgsSz
)

// parsePsinfo reads /proc/PID/psinfo on Solaris and illumos (proc(5)). A
// file shorter than the fields read, or whose pr_pid is not the pid it was
// read for, is not the layout documented: refused, never guessed.
func parsePsinfo(b []byte, pid int) (procInfo, error) {
	if len(b) < psMin {
		return procInfo{}, fmt.Errorf("/proc/%d/psinfo: %d bytes, want at least %d", pid, len(b), psMin)
	}
	i32 := func(off int) int { return int(int32(binary.NativeEndian.Uint32(b[off:]))) }
	p := procInfo{Pid: i32(psPid), PPid: i32(psPpid), Pgid: i32(psPgid), Sid: i32(psSid), Zombie: i32(psNlwp) == 0}
	if p.Pid != pid {
		return procInfo{}, fmt.Errorf("/proc/%d/psinfo: pr_pid %d at offset %d: not the psinfo_t layout volctld knows", pid, p.Pid, psPid)
	}
	sec, nsec := int64(binary.NativeEndian.Uint64(b[psStart:])), int64(binary.NativeEndian.Uint64(b[psStart+8:]))
	if sec < 0 || nsec < 0 || nsec >= 1e9 {
		return procInfo{}, fmt.Errorf("/proc/%d/psinfo: pr_start %d.%d is not a time", pid, sec, nsec)
	}
	p.Start = uint64(sec)*1e9 + uint64(nsec)
	args := b[psArgs : psArgs+psArgsSz]
	if i := bytes.IndexByte(args, 0); i >= 0 {
		args = args[:i]
	}
	p.Args = string(args)
	// The kernel copies at most PRARGSZ-1 bytes (prgetpsinfo).
	p.ArgsPrefix = len(args) >= psArgsSz-1
	return p, nil
}

// argsMatch reports whether what /proc shows of a process's arguments is
// argv.
func argsMatch(p procInfo, argv []string) bool {
	if p.ArgsPrefix {
		return p.Args != "" && strings.HasPrefix(strings.Join(argv, " "), p.Args)
	}
	return p.Args == strings.Join(argv, " ")
}
