// Package cli is the volctl command line. Each noun has its own file; they
// share one client setup (dial) and one output switch (--output).
package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
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
}

// Main runs volctl with args and returns the exit status: the gRPC status
// code of the failure (see client.ExitCode), 0 on success.
func Main(args []string, stdout, stderr io.Writer) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	a := &app{stdout: stdout, stderr: stderr}
	root := a.rootCmd()
	root.SetArgs(args)
	root.SetOut(stdout)
	root.SetErr(stderr)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return 0
	}
	if _, ok := status.FromError(err); !ok {
		// cobra's own errors (unknown flag, wrong number of arguments) are
		// bad input.
		err = status.Error(codes.InvalidArgument, err.Error())
	}
	fmt.Fprintf(stderr, "volctl: %s\n", client.Message(err))
	return client.ExitCode(err)
}

func (a *app) rootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:   "volctl",
		Short: "Roll ZFS volumes exported over iSCSI back to a snapshot, safely",
		Long: `volctl talks to volctld, which rolls a ZFS volume exported over iSCSI back to a
snapshot as one journaled transaction: the LU keeps its GUID, properties and
views, and the kernel zones on the volume come back with fresh host data.

Exit status: 0 on success, otherwise the gRPC status code of the failure
(3 invalid argument, 5 not found, 6 already exists: the snapshot, or a request id of
another rollback, 7 permission denied, 9 failed precondition, 10 aborted: busy or
rolled back, 13 internal: needs attention, 14 unavailable: daemon not running).`,
		SilenceUsage:  true,
		SilenceErrors: true,
		Version:       Version,
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
			if a.output != "text" && a.output != "json" {
				return status.Errorf(codes.InvalidArgument, "--output %q: want text or json", a.output)
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
	root.AddCommand(a.rollbackCmd(), a.lsCmd(), a.showCmd(), a.snapshotsCmd(), a.snapshotCmd(),
		a.destroySnapshotCmd(), a.historyCmd(), a.opCmd(), a.recoverCmd(), a.statusCmd(), a.auditCmd())
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

// printJSON writes one message as JSON (one line per message for streams).
func (a *app) printJSON(m proto.Message, multiline bool) error {
	b, err := protojson.MarshalOptions{UseProtoNames: true}.Marshal(m)
	if err != nil {
		return err
	}
	// protojson varies its whitespace on purpose; re-format with
	// encoding/json so the output is stable for scripts.
	var buf bytes.Buffer
	if multiline {
		err = json.Indent(&buf, b, "", "  ")
	} else {
		err = json.Compact(&buf, b)
	}
	if err != nil {
		return err
	}
	buf.WriteByte('\n')
	_, err = a.stdout.Write(buf.Bytes())
	return err
}

func (a *app) printf(format string, args ...any) { fmt.Fprintf(a.stdout, format, args...) }

// invalid is a client-side rejection of bad input, before anything is sent.
func invalid(format string, args ...any) error {
	return status.Errorf(codes.InvalidArgument, format, args...)
}
