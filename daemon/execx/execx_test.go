package execx

import (
	"context"
	"errors"
	"io"
	"os"
	"strings"
	"testing"
	"time"
)

// TestHelperProcess is not a test: it is the fake platform command that the
// tests below start as a real process (the os/exec idea).
func TestHelperProcess(t *testing.T) {
	if os.Getenv("GO_WANT_HELPER_PROCESS") != "1" {
		return
	}
	defer os.Exit(0)
	args := os.Args
	for len(args) > 0 && args[0] != "--" {
		args = args[1:]
	}
	switch args[1] {
	case "echo":
		os.Stdout.WriteString(strings.Join(args[2:], " ") + "\n")
	case "fail":
		os.Stderr.WriteString("stmfadm: resource busy\n")
		os.Exit(3)
	case "hang":
		time.Sleep(time.Hour)
	case "flood":
		os.Stdout.Write(make([]byte, 10000))
	case "env":
		os.Stdout.WriteString(strings.Join(os.Environ(), "\n"))
	}
}

// helper runs this test binary as the command. The environment variable
// reaches it through argv because Runner runs with a fixed environment.
func helper(args ...string) []string {
	return append([]string{os.Args[0], "-test.run=TestHelperProcess", "--"}, args...)
}

func TestRun(t *testing.T) {
	t.Setenv("GO_WANT_HELPER_PROCESS", "1")
	// execx.Env is fixed; let the helper see its switch for this test only.
	old := Env
	Env = append(append([]string(nil), Env...), "GO_WANT_HELPER_PROCESS=1")
	defer func() { Env = old }()

	tests := []struct {
		name       string
		argv       []string
		runner     Runner
		wantExit   int
		wantErr    bool
		wantErrIs  error
		wantStdout string
		wantInMsg  string
	}{
		{name: "ok", argv: helper("echo", "a", "b;rm -rf /"), wantExit: 0, wantStdout: "a b;rm -rf /\n"},
		{name: "exit status and stderr", argv: helper("fail"), wantExit: 3, wantErr: true, wantInMsg: "exit status 3: stmfadm: resource busy"},
		{name: "timeout kills", argv: helper("hang"), runner: Runner{Timeout: 200 * time.Millisecond}, wantExit: -1, wantErr: true, wantErrIs: ErrTimeout},
		// A listing cut at the cap is not the whole answer: it fails.
		{name: "output capped", argv: helper("flood"), runner: Runner{MaxOutput: 100}, wantExit: 0, wantErr: true, wantErrIs: ErrTruncated, wantInMsg: "raise max_output"},
		{name: "relative path refused", argv: []string{"zfs", "list"}, wantExit: -1, wantErr: true, wantInMsg: "not an absolute path"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			start := time.Now()
			res, err := tc.runner.Run(context.Background(), tc.argv)
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tc.wantErr)
			}
			if res.Exit != tc.wantExit {
				t.Errorf("exit = %d, want %d", res.Exit, tc.wantExit)
			}
			if tc.wantErrIs != nil && !errors.Is(err, tc.wantErrIs) {
				t.Errorf("err = %v, want Is %v", err, tc.wantErrIs)
			}
			if tc.wantStdout != "" && string(res.Stdout) != tc.wantStdout {
				t.Errorf("stdout = %q, want %q", res.Stdout, tc.wantStdout)
			}
			if tc.wantInMsg != "" && (err == nil || !strings.Contains(err.Error(), tc.wantInMsg)) {
				t.Errorf("err = %v, want it to contain %q", err, tc.wantInMsg)
			}
			if tc.name == "output capped" && (len(res.Stdout) > 200 || !strings.Contains(string(res.Stdout), "bytes dropped")) {
				t.Errorf("stdout not capped: %d bytes", len(res.Stdout))
			}
			if tc.name == "timeout kills" && time.Since(start) > 5*time.Second {
				t.Errorf("hung command not killed promptly: %s", time.Since(start))
			}
		})
	}
}

func TestEnvIsFixed(t *testing.T) {
	t.Setenv("VOLCTL_SECRET", "leak")
	old := Env
	Env = append(append([]string(nil), Env...), "GO_WANT_HELPER_PROCESS=1")
	defer func() { Env = old }()
	res, err := (&Runner{}).Run(context.Background(), helper("env"))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(res.Stdout), "VOLCTL_SECRET") {
		t.Error("daemon environment leaked into the command")
	}
	if !strings.Contains(string(res.Stdout), "LC_ALL=C") {
		t.Errorf("LC_ALL=C missing from %q", res.Stdout)
	}
}

// errAfter is a reader that gives data, then fails.
type errAfter struct {
	data []byte
	err  error
}

func (r *errAfter) Read(p []byte) (int, error) {
	if len(r.data) == 0 {
		return 0, r.err
	}
	n := copy(p, r.data)
	r.data = r.data[n:]
	return n, nil
}

// capped.ReadFrom (what os/exec copies a pipe with) keeps the cap and the
// count of what it dropped, across reads longer than its buffer.
func TestCappedReadFrom(t *testing.T) {
	big := strings.Repeat("x", 100<<10) // three buffers and more
	readErr := errors.New("read failed")
	tests := []struct {
		name        string
		in          string
		max         int
		failWith    error
		wantKept    int
		wantDropped int
	}{
		{"under the cap", "hello\n", 100, nil, 6, 0},
		{"exactly the cap", "hello", 5, nil, 5, 0},
		{"over the cap in one read", "hello world", 5, nil, 5, 6},
		{"longer than the buffer, under the cap", big, len(big), nil, len(big), 0},
		{"longer than the buffer, over the cap", big, 40 << 10, nil, 40 << 10, len(big) - 40<<10},
		{"a read that fails", "partial", 100, readErr, 7, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := &capped{max: tt.max}
			var r io.Reader = strings.NewReader(tt.in)
			if tt.failWith != nil {
				r = &errAfter{data: []byte(tt.in), err: tt.failWith}
			}
			n, err := c.ReadFrom(r)
			if !errors.Is(err, tt.failWith) {
				t.Fatalf("err %v, want %v", err, tt.failWith)
			}
			if n != int64(len(tt.in)) || c.buf.Len() != tt.wantKept || c.dropped != tt.wantDropped {
				t.Errorf("read %d, kept %d, dropped %d; want %d, %d, %d", n, c.buf.Len(), c.dropped, len(tt.in), tt.wantKept, tt.wantDropped)
			}
			if !strings.HasPrefix(tt.in, c.buf.String()) {
				t.Errorf("kept bytes are not the input's first ones")
			}
		})
	}
}
