package cli

import (
	"context"
	"errors"
	"os"
	"os/signal"
	"syscall"

	"github.com/volctl/volctl/client"
)

// volctl's exit statuses that are not a gRPC code (client.ExitCode has the
// rest; root.go's help and README.md list them all).
const (
	// exitUsage is a command line that does not parse: unknown command or
	// flag, wrong number of arguments, a flag value of the wrong type or
	// not one of its choices. gRPC's Unknown exits 1 (client.ExitUnknown),
	// so the two are told apart.
	exitUsage = 2
	// exitSignal + N is volctl stopped by signal N, as a shell reports a
	// process killed by it: Ctrl-C (SIGINT) 130, SIGTERM 143. What runs
	// in volctld goes on.
	exitSignal = 128
	// exitDeclined is a confirmation answered with anything but yes (or
	// an end of input): nothing was done, as a person chose.
	exitDeclined = 1
)

// interruptedBy is the cause of the context Main runs a command with when
// a signal stopped it.
type interruptedBy struct{ sig os.Signal }

func (i interruptedBy) Error() string { return "interrupted by " + i.sig.String() }

// interruptible is a context canceled when SIGINT or SIGTERM arrives, with
// the signal as its cause (so that Main exits 128 + its number); stop
// restores the signals' default behaviour.
func interruptible() (ctx context.Context, stop func()) {
	ctx, cancel := context.WithCancelCause(context.Background())
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	done := make(chan struct{})
	go func() {
		select {
		case s := <-sigs:
			cancel(interruptedBy{s})
		case <-done:
		}
	}()
	return ctx, func() {
		signal.Stop(sigs)
		close(done)
		cancel(nil)
	}
}

// exitStatus is the exit status of a command that failed with err (a
// status): a signal's, a declined confirmation's, or err's code.
func exitStatus(ctx context.Context, err error) int {
	if code := signalExit(ctx); code != 0 {
		return code
	}
	if errors.As(err, new(declined)) {
		return exitDeclined
	}
	return client.ExitCode(err)
}

// signalExit is the exit status of a command that a signal interrupted
// (ctx's cause), or 0 when none did.
func signalExit(ctx context.Context) int {
	var i interruptedBy
	if !errors.As(context.Cause(ctx), &i) {
		return 0
	}
	if s, ok := i.sig.(syscall.Signal); ok {
		return exitSignal + int(s)
	}
	return exitSignal + int(syscall.SIGINT)
}
