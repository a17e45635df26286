package sim

import (
	"bufio"
	"context"
	_ "embed" // the stub's source, for BuildStub
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime/debug"
	"runtime/pprof"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// The resident simulator (docs/simulator.md §"Resident simulator"): one
// long-lived process per host runs the platform commands, and the commands
// under ROOT/usr/sbin are a small C stub (stub/stub.c) that forwards its
// argv to it over ROOT/sim.sock. A Go process per simulated command cost
// about 6 ms of CPU before it did anything; the real commands are small C
// programs that start in well under one.
//
// A command runs in the server exactly as in a process of its own
// (runPlatform: the same locks, state file and logs); what the process
// gave for free the server keeps by hand: the stub's end of the connection
// is the process's life, so a stub killed while its command waits (its
// latency, a hang, a slow command's delay, an online-lu's wait) stops the
// command there, as the kernel stops a killed process, and a command never
// acts once its caller's process is gone unless a process would have too.

// StubName is the stub's file name; it must sit beside the volctl-sim
// binary, which it execs when no server answers.
const StubName = "volctl-sim-stub"

// SocketName is the server's socket under ROOT.
const SocketName = "sim.sock"

//go:embed stub/stub.c
var stubSource []byte

//go:embed stub/nolibc.h
var stubNolibc []byte

// StubBuilds are the ways to build the stub, tried in order: without the
// C library (x86-64 Linux: 0.8 ms of CPU a command on this project's
// machine), static (1.6 ms), dynamic (3.4 ms). The Makefile's build tries
// the same.
var StubBuilds = [][]string{
	{"-O2", "-static", "-no-pie", "-nostdlib", "-ffreestanding", "-fno-stack-protector", "-fno-tree-loop-distribute-patterns", "-DSTUB_NOLIBC"},
	{"-O2", "-static"},
	{"-O2"},
}

// BuildStub compiles the stub into dir with the C compiler ($CC, else cc),
// the first of StubBuilds that works.
func BuildStub(dir string) error {
	cc := os.Getenv("CC")
	if cc == "" {
		cc = "cc"
	}
	src, err := os.MkdirTemp(dir, "stub-src-")
	if err != nil {
		return fmt.Errorf("build stub: %w", err)
	}
	defer os.RemoveAll(src)
	if err := os.WriteFile(filepath.Join(src, "stub.c"), stubSource, 0o644); err != nil {
		return fmt.Errorf("build stub: %w", err)
	}
	if err := os.WriteFile(filepath.Join(src, "nolibc.h"), stubNolibc, 0o644); err != nil {
		return fmt.Errorf("build stub: %w", err)
	}
	var outs []byte
	for _, flags := range StubBuilds {
		args := append(slices.Clone(flags), "-o", filepath.Join(dir, StubName), filepath.Join(src, "stub.c"))
		out, err := exec.Command(cc, args...).CombinedOutput()
		if err == nil {
			return nil
		}
		outs = append(outs, fmt.Sprintf("%s %s: %v\n%s", cc, strings.Join(flags, " "), err, out)...)
	}
	return fmt.Errorf("build stub: %s", outs)
}

// Frame kinds of the server's replies (stub/stub.c has the wire format).
const (
	frameStdout   = '1'
	frameStderr   = '2'
	frameExit     = 'x'
	frameFallback = 'f'
)

// maxRequest bounds a request: argv of the platform commands is short.
const maxRequest = 1 << 20

// Server is a running resident simulator for one host.
type Server struct {
	root   string
	ln     net.Listener
	wg     sync.WaitGroup
	served atomic.Int64 // commands run (not fallen back)
}

// Serve starts the resident simulator for root: it listens on
// ROOT/sim.sock and points ROOT/usr/sbin's commands at stub (the
// volctl-sim-stub beside the volctl-sim binary goBinary). Close stops it
// and points the commands back at goBinary.
func Serve(root, goBinary, stub string) (*Server, error) {
	abs, err := filepath.Abs(root)
	if err != nil {
		return nil, fmt.Errorf("serve: %w", err)
	}
	if filepath.Dir(stub) != filepath.Dir(goBinary) {
		return nil, fmt.Errorf("serve: the stub %s must sit beside %s", stub, goBinary)
	}
	if _, err := os.Stat(stub); err != nil {
		return nil, fmt.Errorf("serve: no stub (build it with make build, or sim.BuildStub): %w", err)
	}
	sock := filepath.Join(abs, SocketName)
	if err := os.Remove(sock); err != nil && !os.IsNotExist(err) {
		return nil, fmt.Errorf("serve: %w", err)
	}
	ln, err := listenUnix(abs, sock)
	if err != nil {
		return nil, fmt.Errorf("serve: %w", err)
	}
	s := &Server{root: abs, ln: ln}
	enableStateCache()
	if err := InstallCommands(abs, stub); err != nil {
		ln.Close()
		return nil, err
	}
	s.wg.Add(1)
	go s.accept()
	return s, nil
}

// listenUnix listens on sock; a path longer than sun_path allows is
// bound from inside its directory (the process's working directory is
// changed for that moment only, under processMu).
func listenUnix(dir, sock string) (net.Listener, error) {
	if len(sock) < 100 {
		return net.Listen("unix", sock)
	}
	processMu.Lock()
	defer processMu.Unlock()
	here, err := os.Getwd()
	if err != nil {
		return nil, err
	}
	if err := os.Chdir(dir); err != nil {
		return nil, err
	}
	ln, lerr := net.Listen("unix", SocketName)
	if err := os.Chdir(here); err != nil {
		return nil, fmt.Errorf("back to %s: %w", here, err)
	}
	if lerr != nil {
		return nil, lerr
	}
	// The listener removes its socket by the relative name on Close: not
	// from wherever the process is then.
	ln.(*net.UnixListener).SetUnlinkOnClose(false)
	return ln, nil
}

// Close stops listening, points the commands back at goBinary and waits
// for the commands in flight, at most 10 s (a hung one ends only when its
// stub is killed; past that, its stub sees the server go and fails).
func (s *Server) Close(goBinary string) error {
	err := s.ln.Close()
	_ = os.Remove(filepath.Join(s.root, SocketName))
	if ierr := InstallCommands(s.root, goBinary); ierr != nil && err == nil {
		err = ierr
	}
	done := make(chan struct{})
	go func() { s.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
	}
	if errors.Is(err, net.ErrClosed) {
		err = nil
	}
	return err
}

func (s *Server) accept() {
	defer s.wg.Done()
	for {
		c, err := s.ln.Accept()
		if err != nil {
			return
		}
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			s.handle(c)
		}()
	}
}

// handle runs one command for one stub.
func (s *Server) handle(c net.Conn) {
	defer c.Close()
	root, argv, err := readRequest(bufio.NewReader(c))
	w := &frameWriter{c: c}
	if err != nil || len(argv) == 0 || filepath.Clean(root) != s.root {
		// Not ours to run (another root, a malformed request): the stub
		// runs it as a process of its own.
		w.frame(frameFallback, nil)
		return
	}
	name := filepath.Base(argv[0])
	if _, ok := platform[name]; !ok {
		w.frame(frameFallback, nil)
		return
	}
	// The stub's life: it sends nothing after its request, so the read
	// ends when it exits or is killed.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		_, _ = io.Copy(io.Discard, c)
		cancel()
	}()
	s.served.Add(1)
	code := runPlatformCtx(ctx, s.root, name, argv, w.stream(frameStdout), w.stream(frameStderr), false)
	var b [4]byte
	binary.BigEndian.PutUint32(b[:], uint32(int32(code)))
	w.frame(frameExit, b[:])
}

func readRequest(r io.Reader) (root string, argv []string, err error) {
	var n uint32
	if err := binary.Read(r, binary.BigEndian, &n); err != nil {
		return "", nil, err
	}
	if n < 2 || n > 4096 {
		return "", nil, fmt.Errorf("request of %d strings", n)
	}
	total := 0
	strs := make([]string, 0, n)
	for range n {
		var l uint32
		if err := binary.Read(r, binary.BigEndian, &l); err != nil {
			return "", nil, err
		}
		if total += int(l); total > maxRequest {
			return "", nil, fmt.Errorf("request over %d bytes", maxRequest)
		}
		b := make([]byte, l)
		if _, err := io.ReadFull(r, b); err != nil {
			return "", nil, err
		}
		strs = append(strs, string(b))
	}
	return strs[0], strs[1:], nil
}

// frameWriter sends the command's output to its stub in frames; once the
// stub is gone its writes fail and are dropped, as a killed process's
// output is. Output is held until the command ends or waits (flush): a
// command prints in many small writes, each a system call if sent alone.
type frameWriter struct {
	mu  sync.Mutex
	c   net.Conn
	buf []byte
}

func (w *frameWriter) frame(kind byte, b []byte) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.appendFrame(kind, b)
	w.flushLocked()
}

func (w *frameWriter) appendFrame(kind byte, b []byte) {
	for {
		n := min(len(b), 60<<10) // the stub reads frames of up to 64 KiB
		w.buf = append(w.buf, kind, 0, 0, 0, 0)
		binary.BigEndian.PutUint32(w.buf[len(w.buf)-4:], uint32(n))
		w.buf = append(w.buf, b[:n]...)
		if b = b[n:]; len(b) == 0 {
			return
		}
	}
}

// flush sends what the command printed so far.
func (w *frameWriter) flush() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.flushLocked()
}

func (w *frameWriter) flushLocked() {
	if len(w.buf) == 0 {
		return
	}
	_ = w.c.SetWriteDeadline(time.Now().Add(time.Minute))
	_, _ = w.c.Write(w.buf)
	w.buf = w.buf[:0]
}

// stream is one of the command's outputs; its Flush sends both.
func (w *frameWriter) stream(kind byte) io.Writer {
	return &frameStream{w: w, kind: kind}
}

type frameStream struct {
	w    *frameWriter
	kind byte
}

func (s *frameStream) Write(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	s.w.mu.Lock()
	defer s.w.mu.Unlock()
	s.w.appendFrame(s.kind, p)
	return len(p), nil
}

func (s *frameStream) Flush() { s.w.flush() }

// flushOutput sends what a command printed before it waits (a hang, a
// slow command's delay, online-lu's wait): a process's writes reach its
// reader at once.
func flushOutput(ws ...io.Writer) {
	for _, w := range ws {
		if f, ok := w.(interface{ Flush() }); ok {
			f.Flush()
		}
	}
}

// serveUntilSignal is volctl-sim serve ROOT: it serves until SIGTERM or
// SIGINT, then points the commands back at this binary and prints how
// many commands it ran ("served N commands").
func serveUntilSignal(root string, stdout io.Writer) error {
	exe, err := os.Executable()
	if err != nil {
		return fmt.Errorf("serve: find own executable: %w", err)
	}
	if _, err := os.Stat(statePath(root)); err != nil {
		return fmt.Errorf("serve: %s is not a simulated host (volctl-sim seed or init makes one): %w", root, err)
	}
	if _, err := Load(root); err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	// Where the server's CPU goes, for make bench's questions:
	// VOLCTL_SIM_CPUPROFILE=FILE writes a pprof CPU profile to FILE.PID
	// until it ends (one per server: a benchmark runs several).
	if p := os.Getenv("VOLCTL_SIM_CPUPROFILE"); p != "" {
		f, err := os.Create(fmt.Sprintf("%s.%d", p, os.Getpid()))
		if err != nil {
			return fmt.Errorf("serve: %w", err)
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return fmt.Errorf("serve: %w", err)
		}
		defer pprof.StopCPUProfile()
	}
	// The server's garbage is each command's decoded and encoded state,
	// a few hundred KiB a command; collecting it at 4x the live heap
	// rather than 2x halves the collector's share of the CPU (it was 14%
	// in a profile of 64 rollbacks at once) for a few MiB more.
	debug.SetGCPercent(400)
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT)
	s, err := Serve(root, exe, filepath.Join(filepath.Dir(exe), StubName))
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "serving %s\n", s.root)
	<-sigs
	signal.Stop(sigs)
	err = s.Close(exe)
	fmt.Fprintf(stdout, "served %d commands\n", s.served.Load())
	return err
}
