package cli

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/mattn/go-isatty"
	"github.com/spf13/cobra"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/volctl/volctl/client"
	v1 "github.com/volctl/volctl/proto/volctl/v1"
)

// Confirmation: on a terminal, a command that destroys something
// (destroy-snapshot, rollback --destroy-newer) says what goes and asks
// before it acts; --yes answers for the user. Without a terminal nothing
// is asked and the command runs as it always has: the consent flags the
// daemon requires (--destroy-newer, ...) are still required, and a script
// needs no new flag.

// terminal is where volctl asks: Main's is the process's own; a test's is
// a fake.
type terminal interface {
	// Interactive reports whether someone can answer: stdin and stderr
	// (where the question goes) are both terminals.
	Interactive() bool
	// ReadLine reads one line of the answer (io.EOF when there is none).
	ReadLine() (string, error)
}

// noTerminal is NewCommand's: never interactive (volctl-man, tests).
type noTerminal struct{}

func (noTerminal) Interactive() bool         { return false }
func (noTerminal) ReadLine() (string, error) { return "", io.EOF }

// ttyTerminal is the process's stdin and stderr.
type ttyTerminal struct{ in *bufio.Reader }

func newTTY() *ttyTerminal { return &ttyTerminal{in: bufio.NewReader(os.Stdin)} }

func isTerminal(f *os.File) bool {
	return isatty.IsTerminal(f.Fd()) || isatty.IsCygwinTerminal(f.Fd())
}

func (t *ttyTerminal) Interactive() bool { return isTerminal(os.Stdin) && isTerminal(os.Stderr) }

func (t *ttyTerminal) ReadLine() (string, error) {
	s, err := t.in.ReadString('\n')
	if err == io.EOF && s != "" {
		err = nil
	}
	return s, err
}

// yesFlag adds -y/--yes to cmd.
func yesFlag(cmd *cobra.Command, yes *bool) {
	cmd.Flags().BoolVarP(yes, "yes", "y", false, "do not ask for confirmation on a terminal (without one, nothing is asked)")
}

// confirm asks, on a terminal and unless yes, whether to go on: it prints
// what (one line each) and the question to stderr and reads the answer;
// only "y" or "yes" goes on. Any other answer, an end of input or an
// interrupt is Canceled, before anything was sent.
func (a *app) confirm(ctx context.Context, yes bool, what []string, question string) error {
	if yes || !a.term.Interactive() {
		return nil
	}
	var b strings.Builder
	for _, w := range what {
		b.WriteString(w + "\n")
	}
	b.WriteString(question + " [y/N] ")
	if _, err := io.WriteString(a.stderr, b.String()); err != nil {
		return err
	}
	type answer struct {
		s   string
		err error
	}
	got := make(chan answer, 1)
	go func() {
		s, err := a.term.ReadLine()
		got <- answer{s, err}
	}()
	var ans answer
	select {
	case <-ctx.Done():
		return status.Error(codes.Canceled, "interrupted at the question: nothing was done")
	case ans = <-got:
	}
	switch strings.ToLower(strings.TrimSpace(ans.s)) {
	case "y", "yes":
		return nil
	}
	if ans.err != nil && ans.err != io.EOF {
		return declined(fmt.Sprintf("no answer (%v): nothing was done", ans.err))
	}
	return declined("not confirmed: nothing was done")
}

// declined is a question answered with anything but yes: Canceled for the
// API's sake, but it exits 1 (exitDeclined), not 130, which says a signal
// stopped volctl.
type declined string

func (d declined) Error() string { return string(d) }

// GRPCStatus makes it a Canceled status (status.FromError, status.Code).
func (d declined) GRPCStatus() *status.Status { return status.New(codes.Canceled, string(d)) }

// confirmDestroy asks before destroy-snapshot, naming the snapshot with its
// creation time and the space it holds (when volctld lists it; a snapshot
// it does not list is left to DestroySnapshot's refusal).
func (a *app) confirmDestroy(ctx context.Context, c *client.Client, yes bool, name string) error {
	if yes || !a.term.Interactive() {
		return nil
	}
	vol, _, _ := strings.Cut(name, "@")
	what := "snapshot " + name
	resp, err := c.Snapshots.ListSnapshots(ctx, &v1.ListSnapshotsRequest{Volume: vol})
	if err != nil {
		return err
	}
	found := false
	for _, s := range resp.GetSnapshots() {
		if s.GetName() == name {
			found = true
			what = fmt.Sprintf("snapshot %s (created %s, used %s)", name, a.fmtTime(s.GetCreation().AsTime()), a.fmtSize(s.GetUsed()))
		}
	}
	if !found && resp.GetNextPageToken() == "" {
		return nil
	}
	return a.confirm(ctx, yes, []string{"This destroys " + what + "; it cannot be undone."}, "Destroy it?")
}

// confirmDestroyNewer asks before a rollback with --destroy-newer destroys
// the snapshots newer than its target: the plan (a dry run) names them. A
// refused plan is the rollback's refusal; a plan with none asks nothing.
// (A snapshot taken between the plan and the rollback goes too: the
// rollback's own plan, printed first, names it.)
func (a *app) confirmDestroyNewer(ctx context.Context, c *client.Client, yes bool, req *v1.PlanRollbackRequest) error {
	if yes || !a.term.Interactive() {
		return nil
	}
	resp, err := c.Rollbacks.PlanRollback(ctx, req)
	if err != nil {
		return err
	}
	newer := resp.GetPlan().GetNewerSnapshots()
	if len(newer) == 0 {
		return nil
	}
	what := []string{fmt.Sprintf("This rollback destroys %d newer snapshot(s); they cannot be brought back:", len(newer))}
	for _, s := range newer {
		what = append(what, "  "+s)
	}
	return a.confirm(ctx, yes, what, "Roll back and destroy them?")
}
