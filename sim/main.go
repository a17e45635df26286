package sim

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// Commands are the platform commands the multi-call binary answers to.
var Commands = []string{"zfs", "zpool", "stmfadm", "zoneadm", "zonecfg", "hostid", "zlogin"}

var platform = map[string]func(*env, []string) int{
	"zfs":     runZfs,
	"zpool":   runZpool,
	"stmfadm": runStmfadm,
	"zoneadm": runZoneadm,
	"zonecfg": runZonecfg,
	"hostid":  runHostid,
	"zlogin":  runZlogin, // zlogin.go
}

// env is what one command invocation works with.
type env struct {
	s      *State
	root   string // this host's ROOT
	name   string // basename of argv[0], used in messages as the real tools do
	stdout io.Writer
	stderr io.Writer

	args     []string        // argv[1:], for the history line
	lastErr  string          // the last line printed on stderr (a refusal's reason)
	refusals []string        // reasons; runPlatform logs them to refused.log
	history  []HistoryRecord // to log if the command counts as succeeded
	peers    []*peer         // fabric storage hosts locked by this command (fabric.go)
	// sleep is slept after the host's lock is released, before the
	// command ends: a command that waits for the kernel (online-lu).
	sleep time.Duration
}

func (e *env) outf(format string, a ...any) { fmt.Fprintf(e.stdout, format, a...) }

func (e *env) errf(format string, a ...any) {
	msg := fmt.Sprintf(format, a...)
	if t := strings.TrimSpace(msg); t != "" {
		e.lastErr = t
	}
	fmt.Fprint(e.stderr, msg)
}

// hang blocks until the process is killed; a variable so in-process tests
// can replace it.
var hang = func() {
	for {
		time.Sleep(time.Hour)
	}
}

// sleep is a hang's delay; a variable so in-process tests can replace it.
var sleep = time.Sleep

// Call is one line of ROOT/calls.log.
type Call struct {
	Start time.Time `json:"start"`
	End   time.Time `json:"end"`
	Argv  []string  `json:"argv"`
	Exit  int       `json:"exit"`            // -1 when the invocation hung
	Fault string    `json:"fault,omitempty"` // action of the fault rule that triggered
	// Late marks the second line of a hang with a delay: the command went
	// on after it (and, for a hang, did its work only now).
	Late bool `json:"late,omitempty"`
}

// CommandPath is where the simulated host has a command: ROOT/usr/sbin/NAME.
func CommandPath(root, name string) string {
	return filepath.Join(root, "usr", "sbin", name)
}

// InstallCommands makes ROOT/usr/sbin/{zfs,zpool,stmfadm,zoneadm,zonecfg} symlinks
// to binary (the volctl-sim executable).
func InstallCommands(root, binary string) error {
	abs, err := filepath.Abs(binary)
	if err != nil {
		return fmt.Errorf("install commands: %w", err)
	}
	if err := os.MkdirAll(filepath.Join(root, "usr", "sbin"), 0o755); err != nil {
		return fmt.Errorf("install commands: %w", err)
	}
	for _, c := range Commands {
		p := CommandPath(root, c)
		if err := os.Remove(p); err != nil && !os.IsNotExist(err) {
			return fmt.Errorf("install %s: %w", c, err)
		}
		if err := os.Symlink(abs, p); err != nil {
			return fmt.Errorf("install %s: %w", c, err)
		}
	}
	return nil
}

// Calls returns the parsed call log (empty if nothing ran yet).
func Calls(root string) ([]Call, error) {
	f, err := os.Open(filepath.Join(root, "calls.log"))
	if os.IsNotExist(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read call log: %w", err)
	}
	defer f.Close()
	var calls []Call
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64*1024), 16*1024*1024)
	for sc.Scan() {
		var c Call
		if err := json.Unmarshal(sc.Bytes(), &c); err != nil {
			return nil, fmt.Errorf("parse call log line %q: %w", sc.Text(), err)
		}
		calls = append(calls, c)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read call log: %w", err)
	}
	return calls, nil
}

// logCall appends one line; a single small O_APPEND write keeps lines whole
// across concurrent processes.
func logCall(root string, c Call) {
	b, err := json.Marshal(c)
	if err != nil {
		return
	}
	f, err := os.OpenFile(filepath.Join(root, "calls.log"), os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return
	}
	defer f.Close()
	_, _ = f.Write(append(b, '\n'))
}

// Main is the multi-call entry point: argv[0]'s base name selects zfs,
// zpool, stmfadm, zoneadm or zonecfg; anything else is the volctl-sim
// management command.
func Main(argv []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(argv) == 0 {
		fmt.Fprintln(stderr, "volctl-sim: no argv[0]")
		return 2
	}
	name := filepath.Base(argv[0])
	if _, ok := platform[name]; !ok {
		return manage(argv[1:], stdout, stderr)
	}
	root, err := rootOf(argv[0])
	if err != nil {
		fmt.Fprintf(stderr, "%s: simulator: %v\n", name, err)
		return 1
	}
	return runPlatform(root, name, argv, stdout, stderr, false)
}

// runPlatform runs one platform command in a process of its own.
func runPlatform(root, name string, argv []string, stdout, stderr io.Writer, late bool) int {
	return runPlatformCtx(context.Background(), root, name, argv, stdout, stderr, late)
}

// wait sleeps d, or less if the command's process ends first (ctx: its
// stub's life, serve.go); false if it ended. A process of its own
// (context.Background) always sleeps it all, with sleepFn.
func wait(ctx context.Context, d time.Duration, sleepFn func(time.Duration)) bool {
	if ctx.Done() == nil {
		sleepFn(d)
		return true
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// rootOf finds ROOT: $VOLCTL_SIM_ROOT, else three directories above the
// command path ROOT/usr/sbin/<cmd> (the daemon runs commands with a minimal
// environment, so this is the normal path).
func rootOf(argv0 string) (string, error) {
	if r := os.Getenv("VOLCTL_SIM_ROOT"); r != "" {
		return r, nil
	}
	p := argv0
	if !strings.Contains(p, "/") {
		lp, err := exec.LookPath(p)
		if err != nil {
			return "", fmt.Errorf("cannot find root from argv[0] %q: %w", argv0, err)
		}
		p = lp
	}
	abs, err := filepath.Abs(p)
	if err != nil {
		return "", fmt.Errorf("cannot find root from argv[0] %q: %w", argv0, err)
	}
	return filepath.Dir(filepath.Dir(filepath.Dir(abs))), nil
}

// runPlatformCtx runs one platform command: latency, lock, load, faults,
// act, save if changed, unlock, log. late is a hang with a delay going on
// after it: no latency and no fault rule again, and its line is marked
// Late. ctx ends when the command's process is killed (serve.go): it then
// stops where it waits, logging nothing more, as a killed process would.
func runPlatformCtx(ctx context.Context, root, name string, argv []string, stdout, stderr io.Writer, late bool) int {
	call := Call{Start: time.Now(), Argv: argv, Late: late}
	finish := func(code int) int {
		call.End, call.Exit = time.Now(), code
		logCall(root, call)
		return code
	}
	// The latency is spent holding the locks the real command holds
	// (conc.go); the state file's lock is taken after it, only for the
	// load-act-save.
	var held *heldLocks
	if !late {
		if lat, model := states.latency(root); lat > 0 {
			var err error
			held, err = lockNamed(root, commandLocks(model, argv))
			if err != nil {
				fmt.Fprintf(stderr, "%s: simulator: %v\n", name, err)
				return finish(1)
			}
			defer held.release()
			if !wait(ctx, lat, time.Sleep) {
				return -1
			}
		}
	}
	l, err := lockHost(root)
	if err != nil {
		fmt.Fprintf(stderr, "%s: simulator: %v\n", name, err)
		return finish(1)
	}
	defer l.unlock()
	if ctx.Err() != nil {
		return -1 // killed while it waited for the host
	}
	s, before, err := states.load(root)
	if err != nil {
		fmt.Fprintf(stderr, "%s: simulator: %v\n", name, err)
		return finish(1)
	}
	// The change check compares the new encoding with the bytes read (the
	// state file is always written by encodeState), and the boot disk
	// images are synced only when a volume's label or size changed.
	images := imageKeys(s)
	save := func() error {
		if states.enabled() && listsOnly(name, argv[1:]) && len(s.Faults) == 0 {
			// A listing changes nothing: its state goes back as read
			// without being encoded to compare (statecache.go).
			states.keep(root, s, before)
			return nil
		}
		after, err := encodeState(s)
		if err != nil {
			return err
		}
		if bytes.Equal(before, after) {
			states.keep(root, s, before)
			return nil
		}
		if err := writeStateBytes(root, after); err != nil {
			return err
		}
		if !maps.Equal(images, imageKeys(s)) {
			return syncImages(root, s)
		}
		// The state just written stays for the next command
		// (statecache.go says why that is what decoding it gives).
		s.fillMaps()
		states.keep(root, s, after)
		return nil
	}
	args := argv[1:]
	e := &env{s: s, root: root, name: name, stdout: stdout, stderr: stderr}
	var f *Fault
	if !late {
		f = s.fire(name, args)
	}
	if f != nil {
		call.Fault = f.Action
	}
	// History is logged only by a command that did its work and exited 0
	// (illumos zfs_main.c main: "if (ret == 0 && log_history)"); a
	// fail-after fault is a command whose caller saw it fail, so the real
	// zfs would not have logged it. Refusals are logged whenever the
	// command ran.
	commit := func(logHistory bool) {
		if logHistory {
			s.History = append(s.History, e.history...)
		}
		writeRefusals(root, argv, s, e.refusals)
	}
	code := 0
	switch {
	case f == nil:
		code = platform[name](e, args)
		commit(code == 0)
	case f.Action == ActionFail:
		fmt.Fprint(stderr, f.stderrText())
		code = f.exitCode()
	case f.Action == ActionFailPartway:
		s.unpersistOperands(args)
		fmt.Fprint(stderr, f.stderrText())
		code = f.exitCode()
	case f.Action == ActionExit0Noop:
	case f.Action == ActionFailAfter:
		// The change happens but the caller only sees the failure.
		e.stdout, e.stderr = io.Discard, io.Discard
		platform[name](e, args)
		commit(false)
		fmt.Fprint(stderr, f.stderrText())
		code = f.exitCode()
	case f.Action == ActionHang, f.Action == ActionHangAfter:
		if f.Action == ActionHangAfter {
			// The command did its work and its logging, then hung.
			code = platform[name](e, args)
			commit(code == 0)
		}
		if err := save(); err != nil {
			fmt.Fprintf(stderr, "%s: simulator: %v\n", name, err)
			return finish(1)
		}
		// Release the locks before sleeping so the rest of the host keeps
		// working while this command is stuck.
		l.unlock()
		held.release()
		flushOutput(stdout, stderr)
		finish(-1)
		if d := f.delay(); d > 0 {
			return slow(ctx, root, name, argv, stdout, stderr, call, f.Action, code, d)
		}
		if ctx.Done() == nil {
			hang()
		} else {
			<-ctx.Done() // until its stub is killed
		}
		return -1
	}
	if err := save(); err != nil {
		fmt.Fprintf(stderr, "%s: simulator: %v\n", name, err)
		return finish(1)
	}
	l.unlock()
	held.release()
	if e.sleep > 0 {
		flushOutput(stdout, stderr)
	}
	if !wait(ctx, e.sleep, time.Sleep) {
		return -1
	}
	return finish(code)
}

// slow ends a hang with a delay, as a slow command on a real host would:
// it sleeps d (the lock released), then a hang does its work now, on the
// host as it is now, and a hang-after exits with the status of the work it
// did before it slept. Whoever started it may be gone by then (a daemon
// killed under it): a write to its closed pipes then fails instead of
// killing the command (SIGPIPE ignored), so it acts in full, the worst case.
func slow(ctx context.Context, root, name string, argv []string, stdout, stderr io.Writer, call Call, action string, code int, d time.Duration) int {
	signal.Ignore(syscall.SIGPIPE)
	if !wait(ctx, d, sleep) {
		return -1
	}
	if action == ActionHang {
		return runPlatformCtx(ctx, root, name, argv, stdout, stderr, true)
	}
	call.End, call.Exit, call.Late = time.Now(), code, true
	logCall(root, call)
	return code
}

// runHostid is hostid(1): the global zone's hostid, 8 hex digits and a
// newline, on every flavor (it takes no operands; [UNV] what it prints
// for one).
func runHostid(e *env, args []string) int {
	if len(args) > 0 {
		e.errf("usage: hostid\n")
		return 2
	}
	e.outf("%s\n", e.s.HostID)
	return 0
}
