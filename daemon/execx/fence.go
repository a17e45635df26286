package execx

// The registry of running commands, and the fence a new volctld puts up
// with it at start (issue 19; docs/platform/process-fencing.md says what
// this relies on and why it is built this way).
//
// Every command Run starts while a registry is tracked leaves a file in the
// registry's directory for as long as it runs: before it starts, its argv
// and who starts it (the daemon's pid, session and start time); right
// after, its pid, process group and start time. When it has been waited
// for, the file goes. So after a kill -9 of the daemon, the files left name
// every command that may still run. At start, before anything else runs
// (before a resume, a recover or a zone call), the new daemon fences them:
// each recorded process that is still the same process (same pid AND same
// start time, so a reused pid is never touched), and every member of its
// process group, is killed with SIGKILL and waited for until gone; a
// process that will not go within the bound stops the start (fail closed).
//
// A plain file written with write(2), without fsync, is enough: the only
// crash it must survive is the daemon's own, and what write(2) put in the
// kernel's page cache survives the writer. A power loss or kernel panic
// loses it, but kills the commands too.

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/hashicorp/go-hclog"
	"golang.org/x/sys/unix"
)

// Registry records the commands this process runs, in one directory.
type Registry struct {
	dir  string
	log  hclog.Logger
	self procInfo // this daemon: its session and start time
	boot string
	seq  atomic.Uint64
}

// intent is a record's first line, written before the command starts.
type intent struct {
	Argv []string `json:"argv"`
	// The daemon that ran it: its pid, session (the command's too: it
	// gets a process group of its own, not a session) and start time.
	Daemon      int       `json:"daemon"`
	Session     int       `json:"session"`
	DaemonStart uint64    `json:"daemon_start"`
	Boot        string    `json:"boot,omitempty"`
	Time        time.Time `json:"time"`
}

// started is a record's second line, written once the command runs.
type started struct {
	Pid   int    `json:"pid"`
	Pgid  int    `json:"pgid"`
	Start uint64 `json:"start"`
}

// OpenRegistry opens (creating it 0700) the directory dir for records. The
// directory must be a directory, not a symbolic link, owned by root or the
// daemon's euid and writable by its owner only (the daemon checks the path
// above it with config.CheckStateDir). Processes are read through /proc:
// where that does not work as documented, it fails.
func OpenRegistry(dir string, log hclog.Logger) (*Registry, error) {
	if log == nil {
		log = hclog.NewNullLogger()
	}
	if err := os.Mkdir(dir, 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
		return nil, fmt.Errorf("registry of running commands: %w", err)
	}
	fi, err := os.Lstat(dir)
	if err != nil {
		return nil, fmt.Errorf("registry of running commands: %w", err)
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	switch {
	case !fi.IsDir():
		return nil, fmt.Errorf("registry of running commands %s: not a directory (%s)", dir, fi.Mode().Type())
	case !ok:
		return nil, fmt.Errorf("registry of running commands %s: no owner on this system", dir)
	case st.Uid != 0 && int(st.Uid) != os.Geteuid():
		return nil, fmt.Errorf("registry of running commands %s: owned by uid %d, not by root or the daemon's uid %d", dir, st.Uid, os.Geteuid())
	case fi.Mode().Perm()&0o022 != 0:
		return nil, fmt.Errorf("registry of running commands %s: writable by group or others (mode %04o)", dir, fi.Mode().Perm())
	}
	self, err := readProc(os.Getpid())
	if err != nil {
		return nil, fmt.Errorf("registry of running commands: read this process from /proc: %w", err)
	}
	// What /proc says of this process must be what the kernel says: a
	// layout or a field read wrong would make every later reading wrong.
	pgid, err1 := unix.Getpgid(0)
	sid, err2 := unix.Getsid(0)
	if err := errors.Join(err1, err2); err != nil {
		return nil, fmt.Errorf("registry of running commands: %w", err)
	}
	if self.PPid != os.Getppid() || self.Pgid != pgid || self.Sid != sid || self.Start == 0 || self.Zombie {
		return nil, fmt.Errorf("registry of running commands: /proc shows this process with ppid %d, process group %d, session %d, start %d; the kernel says ppid %d, process group %d, session %d: /proc is not read as documented",
			self.PPid, self.Pgid, self.Sid, self.Start, os.Getppid(), pgid, sid)
	}
	boot, err := bootID()
	if err != nil {
		return nil, fmt.Errorf("registry of running commands: boot id: %w", err)
	}
	return &Registry{dir: dir, log: log, self: self, boot: boot}, nil
}

// Dir is the registry's directory.
func (r *Registry) Dir() string { return r.dir }

var tracked atomic.Pointer[Registry]

// Track makes every command this process runs from now on recorded in r
// (nil: none). A volctld has one registry, next to its journal, tracked
// from its start once the fence is up; it is process-wide so that no place
// that builds a Runner can leave a command out. The returned function
// stops tracking r (if it is still the one tracked).
func Track(r *Registry) (stop func()) {
	tracked.Store(r)
	return func() { tracked.CompareAndSwap(r, nil) }
}

// run runs cmd, recorded in the tracked registry if there is one. A record
// that cannot be written does not stop the command (it may be the one that
// brings an LU back on a full disk): it runs unrecorded, and the log says
// so.
func run(cmd *exec.Cmd, argv []string) error {
	r := tracked.Load()
	if r == nil {
		if err := cmd.Start(); err != nil {
			return err
		}
		awaitExit(cmd.Process.Pid) // exitwait_linux.go
		return cmd.Wait()
	}
	rec, err := r.begin(argv)
	if err != nil {
		r.log.Error("cannot record a command before it starts; it runs unrecorded: a crash of volctld while it runs would leave it unfenced", "argv", strings.Join(argv, " "), "error", err)
		if err := cmd.Start(); err != nil {
			return err
		}
		awaitExit(cmd.Process.Pid)
		return cmd.Wait()
	}
	defer rec.end(r)
	if err := cmd.Start(); err != nil {
		return err
	}
	if err := rec.started(cmd.Process.Pid); err != nil {
		// The first line stays: a fence after a crash finds the command
		// by its argv, session and start (intentVictims).
		r.log.Error("cannot record a started command's pid; it stays recorded by its argv only", "argv", strings.Join(argv, " "), "pid", cmd.Process.Pid, "error", err)
	}
	awaitExit(cmd.Process.Pid)
	return cmd.Wait()
}

// record is the file of one running command.
type record struct {
	path string
	f    *os.File
}

func (r *Registry) begin(argv []string) (*record, error) {
	line, err := json.Marshal(intent{Argv: argv, Daemon: r.self.Pid, Session: r.self.Sid, DaemonStart: r.self.Start,
		Boot: r.boot, Time: time.Now().UTC()})
	if err != nil {
		return nil, err
	}
	path := filepath.Join(r.dir, fmt.Sprintf("%d-%d", r.self.Pid, r.seq.Add(1)))
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL|syscall.O_NOFOLLOW, 0o600)
	if err != nil {
		return nil, err
	}
	// One write: a kill -9 leaves all of the line or none of it.
	if _, err := f.Write(append(line, '\n')); err != nil {
		f.Close()
		os.Remove(path)
		return nil, err
	}
	return &record{path: path, f: f}, nil
}

// started adds the pid and start time. The child is not waited for yet,
// so /proc shows it even if it has exited already.
func (rec *record) started(pid int) error {
	f := rec.f
	rec.f = nil
	p, err := readProc(pid)
	if err != nil {
		f.Close()
		return err
	}
	// The command's process group is its pid: setProcessGroup.
	line, err := json.Marshal(started{Pid: pid, Pgid: pid, Start: p.Start})
	if err == nil {
		_, err = f.Write(append(line, '\n'))
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

func (rec *record) end(r *Registry) {
	if rec.f != nil {
		rec.f.Close()
	}
	if err := os.Remove(rec.path); err != nil {
		r.log.Error("cannot remove the record of a command that ended; the next start checks it again", "path", rec.path, "error", err)
	}
}

// FenceTimeout bounds how long the fence waits for a killed process to
// go. SIGKILL cannot be caught or ignored; a process that outlives this
// is stuck in the kernel.
const FenceTimeout = 10 * time.Second

// Fence deals with every record left in the registry by an earlier
// daemon: a recorded command that still runs is killed with its process
// group and waited for (at most timeout); the records of commands that
// ended are removed. It logs each command fenced. It must run before this
// process starts any command (it takes every record for an earlier
// daemon's). An error names what could not be fenced; those records stay
// for the next start.
func (r *Registry) Fence(timeout time.Duration) error {
	ents, err := os.ReadDir(r.dir)
	if err != nil {
		return fmt.Errorf("registry of running commands: %w", err)
	}
	var errs []error
	for _, e := range ents {
		if err := r.fenceFile(e, timeout); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// fenceFile fences one record.
func (r *Registry) fenceFile(e fs.DirEntry, timeout time.Duration) error {
	path := filepath.Join(r.dir, e.Name())
	if !e.Type().IsRegular() {
		return fmt.Errorf("registry of running commands: %s is not a regular file (%s): not a record volctld wrote; remove it", path, e.Type())
	}
	b, err := readNoFollow(path)
	if err != nil {
		return fmt.Errorf("registry of running commands: %w", err)
	}
	if bytes.IndexByte(b, '\n') < 0 {
		// Created, and the daemon killed before its first line was
		// written whole: the command was not started yet.
		r.log.Debug("record of a command that never started removed", "path", path)
		return r.remove(path)
	}
	in, st, err := parseRecord(b)
	if err != nil {
		return fmt.Errorf("registry of running commands: %s: %w; not a record volctld wrote: remove it once you know its command is not running", path, err)
	}
	argv := strings.Join(in.Argv, " ")
	if in.Boot != r.boot {
		r.log.Debug("record of a command from before the host's last boot removed", "argv", argv, "pid", pidOf(st))
		return r.remove(path)
	}
	victims, how, err := r.victims(in, st)
	if err != nil {
		return fmt.Errorf("fence %q (recorded %s): %w", argv, in.Time.Format(time.RFC3339), err)
	}
	if len(victims) == 0 {
		r.log.Debug("record of a command that ended removed", "argv", argv, "pid", pidOf(st), "why", how)
		return r.remove(path)
	}
	begin := time.Now()
	if err := r.kill(in, victims, timeout); err != nil {
		r.log.Error("cannot fence a command the previous volctld left running: it survives SIGKILL", "argv", argv, "pid", pidOf(st),
			"recorded", in.Time.Format(time.RFC3339Nano), "error", err)
		return fmt.Errorf("fence %q (pid %d, recorded %s): %w; volctld does not start while it runs: wait for it to exit (or reboot), then start volctld again",
			argv, pidOf(st), in.Time.Format(time.RFC3339), err)
	}
	r.log.Warn("fenced a command the previous volctld left running: killed (SIGKILL) with its process group before anything resumes",
		"argv", argv, "pid", pidOf(st), "pgid", pgidOf(st), "killed", pids(victims), "how", how, "recorded", in.Time.Format(time.RFC3339Nano),
		"previous_daemon", in.Daemon, "waited", time.Since(begin).Round(time.Millisecond))
	return r.remove(path)
}

func (r *Registry) remove(path string) error {
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("registry of running commands: %w", err)
	}
	return nil
}

// readNoFollow reads a record without following a symbolic link.
func readNoFollow(path string) ([]byte, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NOFOLLOW, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var buf bytes.Buffer
	_, err = buf.ReadFrom(f)
	return buf.Bytes(), err
}

// parseRecord reads a record: its first line (the caller checked it is
// whole: written in one write, it is all there or the command never
// started), and its second if it is whole; st is nil without it (the
// daemon died between the two writes, or could not read the child's
// start).
func parseRecord(b []byte) (in intent, st *started, err error) {
	i := bytes.IndexByte(b, '\n')
	if i < 0 {
		return in, nil, errors.New("no whole first line")
	}
	first, rest := b[:i], b[i+1:]
	dec := json.NewDecoder(bytes.NewReader(first))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&in); err != nil {
		return in, nil, fmt.Errorf("first line: %v", err)
	}
	// A session of 0 is a real value, not a missing one: /proc and
	// getsid(2) show 0 when the session leader lives outside this PID
	// namespace (a daemon started in a container, as CI runs it;
	// docs/platform/process-fencing.md §2), so presence is checked.
	var present struct {
		Session *int `json:"session"`
	}
	if err := json.Unmarshal(first, &present); err != nil {
		return in, nil, fmt.Errorf("first line: %v", err)
	}
	if len(in.Argv) == 0 || in.Daemon <= 0 || present.Session == nil || in.Session < 0 || in.DaemonStart == 0 {
		return in, nil, errors.New("first line: argv, daemon, session or daemon_start missing")
	}
	if i := bytes.IndexByte(rest, '\n'); i >= 0 {
		var s started
		dec := json.NewDecoder(bytes.NewReader(rest[:i]))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&s); err == nil && s.Pid > 0 && s.Pgid > 0 {
			st = &s
		}
	}
	return in, st, nil
}

// victims are the processes a record stands for that still run: with a
// pid, the process if it is still the one recorded, and the live members
// of its process group; without one, the processes that match the record
// (intentVictims). how says how they were found, or why there are none.
func (r *Registry) victims(in intent, st *started) ([]procInfo, string, error) {
	procs, err := listProcs()
	if err != nil {
		return nil, "", err
	}
	if st == nil {
		return r.intentVictims(in, procs)
	}
	for _, p := range procs {
		// A pid in use by a process with another start time: the
		// recorded one is gone, and with it its process group (a pid is
		// not given out again while a group or session of that number
		// exists), so the members found below would be another's.
		if p.Pid == st.Pid && p.Start != 0 && p.Start != st.Start {
			return nil, "pid reused by a later process", nil
		}
	}
	var out []procInfo
	for _, p := range procs {
		if p.Pgid == st.Pgid && p.Sid == in.Session && !p.Zombie && p.Start >= st.Start {
			out = append(out, p)
		}
	}
	if len(out) == 0 {
		return nil, "exited", nil
	}
	return out, "by pid and start time", nil
}

// intentVictims finds the command of a record without a pid (the daemon
// died between starting it and recording its pid): a process group leader
// in the recorded daemon's session, started after that daemon, running the
// recorded argv; and the members of its group.
func (r *Registry) intentVictims(in intent, procs []procInfo) ([]procInfo, string, error) {
	leaders := map[int]bool{}
	for _, p := range procs {
		if p.Pid != p.Pgid || p.Sid != in.Session || p.Zombie || p.Start < in.DaemonStart || p.Pid == r.self.Pid {
			continue
		}
		if err := readArgs(&p); errors.Is(err, errNoProc) {
			continue
		} else if err != nil {
			return nil, "", err
		}
		if argsMatch(p, in.Argv) {
			leaders[p.Pid] = true
		}
	}
	var out []procInfo
	for _, p := range procs {
		if leaders[p.Pgid] && p.Sid == in.Session && !p.Zombie && p.Start >= in.DaemonStart {
			out = append(out, p)
		}
	}
	if len(out) == 0 {
		return nil, "not running (recorded before its pid was)", nil
	}
	return out, "by argv, session and start (recorded before its pid was)", nil
}

// kill sends SIGKILL to the victims' process groups and waits until no
// member of those groups is alive. A group is signalled only while a scan
// has just seen a member of it alive: a group id is not given out again
// while the group exists.
func (r *Registry) kill(in intent, victims []procInfo, timeout time.Duration) error {
	groups := map[int]uint64{} // pgid -> the earliest start a member may have
	for _, v := range victims {
		if min, ok := groups[v.Pgid]; !ok || v.Start < min {
			groups[v.Pgid] = v.Start
		}
	}
	deadline := time.Now().Add(timeout)
	alive := victims
	for {
		signalled := map[int]bool{}
		for _, p := range alive {
			if signalled[p.Pgid] {
				continue
			}
			signalled[p.Pgid] = true
			if err := syscall.Kill(-p.Pgid, syscall.SIGKILL); err != nil && !errors.Is(err, syscall.ESRCH) {
				return fmt.Errorf("kill process group %d: %w", p.Pgid, err)
			}
		}
		time.Sleep(5 * time.Millisecond)
		procs, err := listProcs()
		if err != nil {
			return err
		}
		alive = alive[:0:0]
		for _, p := range procs {
			if min, ok := groups[p.Pgid]; ok && p.Sid == in.Session && !p.Zombie && p.Start >= min {
				alive = append(alive, p)
			}
		}
		if len(alive) == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("processes %v still alive %s after SIGKILL", pids(alive), timeout)
		}
	}
}

// listProcs reads every process in /proc.
func listProcs() ([]procInfo, error) {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return nil, err
	}
	var out []procInfo
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid <= 0 {
			continue
		}
		p, err := readProc(pid)
		if errors.Is(err, errNoProc) {
			continue // exited while we looked
		}
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, nil
}

func pidOf(st *started) int {
	if st == nil {
		return 0
	}
	return st.Pid
}

func pgidOf(st *started) int {
	if st == nil {
		return 0
	}
	return st.Pgid
}

func pids(ps []procInfo) []int {
	var out []int
	for _, p := range ps {
		out = append(out, p.Pid)
	}
	slices.Sort(out)
	return out
}
