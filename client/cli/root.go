// Package cli is the volctl command line. Each noun has its own file; they
// share one client setup (dial) and one output switch (--output).
package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"

	"github.com/spf13/cobra"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/volctl/volctl/client"
)

// Version is set at build time.
var Version = "dev"

// app is the state shared by every command.
type app struct {
	socket string
	output string
	// TCP with mutual TLS instead of the unix socket.
	addr, cert, key, ca, serverName string
	stdout                          io.Writer
	stderr                          io.Writer
	// -H, -p and --utc: see format.go.
	scripted, parsable, utc bool
	// term is where a destructive command asks first (confirm.go).
	term terminal
}

// Main runs volctl with args and returns the exit status: 2 for a command
// line volctl cannot parse (see usageError), 128 + the signal's number when
// SIGINT or SIGTERM interrupted it (exit.go), otherwise the failure's gRPC
// status code (see client.ExitCode), 0 on success.
func Main(args []string, stdout, stderr io.Writer) int {
	ctx, stop := interruptible()
	defer stop()
	root := newCommand(stdout, stderr, newTTY())
	root.SetArgs(args)
	cmd, err := root.ExecuteContextC(ctx)
	if err == nil {
		return 0
	}
	var ex *exitError
	if errors.As(err, &ex) {
		fmt.Fprintf(stderr, "volctl: %s\n", ex.msg)
		return ex.code
	}
	if _, ok := status.FromError(err); !ok {
		// Every error of a command's own RunE is a status (see
		// statusErrors): what is left is cobra's, a command line that
		// does not parse. Exit 2 with the hint, as other tools do.
		fmt.Fprintf(stderr, "volctl: %s\nRun '%s --help' for usage.\n", err, cmd.CommandPath())
		return exitUsage
	}
	fmt.Fprintf(stderr, "volctl: %s\n", client.Message(err))
	return exitStatus(ctx, err)
}

// NewCommand is volctl's command tree, writing to stdout and stderr; Main
// runs it, and cmd/volctl-man writes its man pages from it.
func NewCommand(stdout, stderr io.Writer) *cobra.Command {
	return newCommand(stdout, stderr, noTerminal{})
}

// newCommand is NewCommand asking its questions on term.
func newCommand(stdout, stderr io.Writer, term terminal) *cobra.Command {
	a := &app{stdout: stdout, stderr: stderr, term: term}
	root := a.rootCmd()
	root.SetOut(stdout)
	root.SetErr(stderr)
	statusErrors(root)
	return root
}

// statusErrors makes every error a command's RunE returns a gRPC status
// (Unknown when it is not one already, e.g. a failed write to stdout), so
// that Main can tell them from cobra's usage errors. A group of commands
// (op) gets a RunE that refuses an unknown subcommand: cobra would print
// the group's help and exit 0.
func statusErrors(cmd *cobra.Command) {
	if cmd.RunE == nil && cmd.Run == nil && cmd.HasSubCommands() && cmd.HasParent() {
		cmd.RunE = func(cmd *cobra.Command, args []string) error {
			if len(args) > 0 {
				return usageError{fmt.Errorf("unknown command %q for %q", args[0], cmd.CommandPath())}
			}
			return cmd.Help()
		}
	}
	if run := cmd.RunE; run != nil {
		cmd.RunE = func(cmd *cobra.Command, args []string) error {
			err := run(cmd, args)
			if _, ok := status.FromError(err); err != nil && !ok && !errors.As(err, new(usageError)) && !errors.As(err, new(*exitError)) {
				return status.Error(codes.Unknown, err.Error())
			}
			return err
		}
	}
	for _, c := range cmd.Commands() {
		statusErrors(c)
	}
}

// usageError is a command line that does not parse, found by volctl
// rather than by cobra: exit 2, like cobra's own.
type usageError struct{ error }

func (a *app) rootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:   "volctl",
		Short: "Roll ZFS volumes exported over iSCSI back to a snapshot, safely",
		Long: `volctl talks to volctld, which rolls a ZFS volume exported over iSCSI back to a
snapshot as one journaled transaction: the LU keeps its GUID, properties and
views, and the kernel zones on the volume come back with fresh host data.

Output: tables are aligned under a header, sizes in binary units (1.5G),
durations rounded ("1.234s"), times in the local zone with its name
("2026-12-02 04:05:06 CET"). For scripts:

    -H         no header, fields separated by one tab (an empty one is "-")
    -p         exact numbers: sizes in bytes, durations in whole
               milliseconds, times in Unix seconds
    --utc      times in UTC instead of the local zone (TZ chooses that)
    -o json    the API's messages as JSON, one per line for a stream; the
               shape is stable (docs/json.md)

Exit status: 0 on success, 1 for an error volctl cannot classify (gRPC
Unknown, or a failed write to stdout) or a question not answered yes, 2 for a command line that does not
parse (unknown command or flag, wrong number of arguments, a bad flag
value), 130 when interrupted by Ctrl-C (143 by SIGTERM; what runs in volctld
goes on), otherwise the gRPC status code of the failure (3 invalid argument,
5 not found, 6 already exists: the snapshot, or a request id of another
rollback, 7 permission denied, 8 resource exhausted, 9 failed precondition,
10 aborted: busy or rolled back, 13 internal: needs attention,
14 unavailable: daemon not running). 'volctl status' exits 20 while an
operation needs attention (see its help), 'volctl check-boot' 20 when the
kernel zone will not boot.`,
		SilenceUsage:  true,
		SilenceErrors: true,
		Version:       Version,
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
			if a.output != "text" && a.output != "json" {
				// Not a status: a usage error (exit 2), like a flag
				// value of the wrong type.
				return fmt.Errorf("invalid argument %q for \"-o, --output\" flag: want text or json", a.output)
			}
			return nil
		},
	}
	sock := os.Getenv("VOLCTL_SOCKET")
	if sock == "" {
		sock = client.DefaultSocket
	}
	root.PersistentFlags().StringVar(&a.socket, "socket", sock, "volctld's unix socket (env VOLCTL_SOCKET)")
	root.PersistentFlags().StringVarP(&a.output, "output", "o", "text", "output format: text or json")
	root.PersistentFlags().StringVar(&a.addr, "addr", "", "volctld's TCP address (mutual TLS; needs --tls-cert, --tls-key, --tls-ca)")
	root.PersistentFlags().StringVar(&a.cert, "tls-cert", "", "client certificate (PEM) for --addr")
	root.PersistentFlags().StringVar(&a.key, "tls-key", "", "client key (PEM) for --addr")
	root.PersistentFlags().StringVar(&a.ca, "tls-ca", "", "CA certificate (PEM) that signed volctld's certificate")
	root.PersistentFlags().StringVar(&a.serverName, "tls-server-name", "", "name to verify in volctld's certificate (default: the host of --addr)")
	root.PersistentFlags().BoolVarP(&a.scripted, "scripted", "H", false, "scripted mode: tables without a header, fields separated by one tab")
	root.PersistentFlags().BoolVarP(&a.parsable, "parsable", "p", false, "exact numbers: sizes in bytes, durations in milliseconds, times in Unix seconds")
	root.PersistentFlags().BoolVar(&a.utc, "utc", false, "print times in UTC instead of the local zone")
	root.AddCommand(a.rollbackCmd(), a.lsCmd(), a.showCmd(), a.snapshotsCmd(), a.snapshotCmd(),
		a.destroySnapshotCmd(), a.historyCmd(), a.opCmd(), a.recoverCmd(), a.resolveCmd(), a.statusCmd(), a.auditCmd(), a.versionCmd())
	root.AddCommand(a.undoCmd(), a.keptCmd(), a.forgetCmd()) // keep.go
	root.AddCommand(a.checkBootCmd())                        // checkboot.go
	root.AddCommand(a.rescueCmd())                           // rescue.go
	a.completions(root)
	root.InitDefaultCompletionCmd()
	bashCompletion(root)
	setExamples(root)
	return root
}

// query is the shape of every one-call command: dial, call, and print the
// answer as JSON or as text.
func query[T proto.Message](a *app, cmd *cobra.Command, call func(context.Context, *client.Client) (T, error), text func(T) error) error {
	c, err := a.dial()
	if err != nil {
		return err
	}
	defer c.Close()
	resp, err := call(cmd.Context(), c)
	if err != nil {
		return err
	}
	if a.json() {
		return a.printJSON(resp, true)
	}
	return text(resp)
}

// dial is the one client setup every command uses: the unix socket, or TCP
// with mutual TLS when --addr is given (never plain TCP).
func (a *app) dial() (*client.Client, error) {
	if a.addr == "" {
		if a.socket == "" {
			// filepath.Abs("") is the current directory: never dial that.
			return nil, invalid("--socket is empty: give volctld's socket (default %s), or leave the flag out", client.DefaultSocket)
		}
		return client.Dial(a.socket)
	}
	if a.cert == "" || a.key == "" || a.ca == "" {
		return nil, invalid("--addr needs --tls-cert, --tls-key and --tls-ca: volctld only speaks mutual TLS over TCP")
	}
	name := a.serverName
	if name == "" {
		host, _, err := net.SplitHostPort(a.addr)
		if err != nil {
			return nil, invalid("--addr %q: %v", a.addr, err)
		}
		name = host
	}
	cfg, err := client.TLSConfig(a.cert, a.key, a.ca, name)
	if err != nil {
		return nil, invalid("%v", err)
	}
	return client.DialTLS(a.addr, cfg)
}

func (a *app) json() bool { return a.output == "json" }

// printJSON writes one message as JSON (marshalJSON: docs/json.md),
// indented, or on one line for a message of a stream.
func (a *app) printJSON(m proto.Message, multiline bool) error {
	b, err := marshalJSON(m)
	if err != nil {
		return err
	}
	return a.writeJSON(b, multiline)
}

// writeJSON writes compact JSON b, indented when multiline.
func (a *app) writeJSON(b []byte, multiline bool) error {
	var buf bytes.Buffer
	if multiline {
		if err := json.Indent(&buf, b, "", "  "); err != nil {
			return err
		}
	} else {
		buf.Write(b)
	}
	buf.WriteByte('\n')
	_, err := a.stdout.Write(buf.Bytes())
	return err
}

func (a *app) printf(format string, args ...any) { fmt.Fprintf(a.stdout, format, args...) }

// invalid is a client-side rejection of bad input, before anything is sent.
func invalid(format string, args ...any) error {
	return status.Errorf(codes.InvalidArgument, format, args...)
}
