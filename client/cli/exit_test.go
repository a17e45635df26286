package cli

import (
	"bytes"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/volctl/volctl/client"
)

// TestExitCodes: a usage error, gRPC Unknown and an interrupted call
// each have their own exit status (2, 1, 130); every other failure exits
// with its gRPC code.
func TestExitCodes(t *testing.T) {
	for _, tc := range []struct {
		name string
		err  error
		want int
	}{
		{"ok", nil, 0},
		{"unknown", status.Error(codes.Unknown, "x"), 1},
		{"no status", errors.New("write /dev/stdout: broken pipe"), 1},
		{"canceled", status.Error(codes.Canceled, "context canceled"), 130},
		{"invalid", status.Error(codes.InvalidArgument, "x"), 3},
		{"not found", status.Error(codes.NotFound, "x"), 5},
		{"precondition", status.Error(codes.FailedPrecondition, "x"), 9},
		{"internal", status.Error(codes.Internal, "x"), 13},
		{"unavailable", status.Error(codes.Unavailable, "x"), 14},
	} {
		if got := client.ExitCode(tc.err); got != tc.want {
			t.Errorf("%s: ExitCode = %d, want %d", tc.name, got, tc.want)
		}
	}
	if got := Main([]string{"rolback"}, io.Discard, io.Discard); got != exitUsage || exitUsage == client.ExitUnknown {
		t.Errorf("usage error: exit %d, want %d (and not Unknown's %d)", got, exitUsage, client.ExitUnknown)
	}
}

// TestEmptySocket: an empty --socket is refused (3), not dialled as the current
// directory.
func TestEmptySocket(t *testing.T) {
	t.Chdir(t.TempDir())
	var stderr bytes.Buffer
	if got := Main([]string{"--socket", "", "ls"}, io.Discard, &stderr); got != int(codes.InvalidArgument) || !strings.Contains(stderr.String(), "--socket is empty") {
		t.Errorf("exit %d, stderr %q; want 3 and --socket is empty", got, stderr.String())
	}
}

// TestCtrlCExits130: volctl interrupted by SIGINT while it waits for
// volctld exits 130 (128 + SIGINT), as a shell reports a command Ctrl-C
// stopped; SIGTERM is 143.
func TestCtrlCExits130(t *testing.T) {
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM} {
		t.Run(sig.String(), func(t *testing.T) {
			// A socket that accepts and never answers: volctl's call waits.
			sock := filepath.Join(t.TempDir(), "s")
			l, err := net.Listen("unix", sock)
			if err != nil {
				t.Fatal(err)
			}
			defer l.Close()
			var accepted atomic.Int32
			go func() {
				var conns []net.Conn
				defer func() {
					for _, c := range conns {
						c.Close()
					}
				}()
				for {
					c, err := l.Accept()
					if err != nil {
						return
					}
					conns = append(conns, c)
					accepted.Add(1)
				}
			}()
			done := make(chan int, 1)
			var stderr bytes.Buffer
			go func() { done <- Main([]string{"--socket", sock, "history"}, io.Discard, &stderr) }()
			// The second connection is gRPC's: Main has its signal
			// handler by then (the first is Dial's check).
			for deadline := time.Now().Add(10 * time.Second); accepted.Load() < 2; time.Sleep(5 * time.Millisecond) {
				if time.Now().After(deadline) {
					t.Fatal("volctl did not connect")
				}
			}
			if err := syscall.Kill(os.Getpid(), sig); err != nil {
				t.Fatal(err)
			}
			select {
			case got := <-done:
				if want := 128 + int(sig); got != want {
					t.Errorf("exit %d, want %d; stderr %q", got, want, stderr.String())
				}
			case <-time.After(10 * time.Second):
				t.Fatal("volctl did not stop")
			}
		})
	}
}
