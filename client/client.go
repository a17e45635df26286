// Package client is the Go client of volctld, and (in cli/) the volctl
// command line.
package client

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"unicode"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	"github.com/volctl/volctl/internal/wire"
	v1 "github.com/volctl/volctl/proto/volctl/v1"
)

// DefaultSocket is where volctld listens unless configured otherwise.
const DefaultSocket = "/var/run/volctld/volctld.sock"

// Client holds a connection and a stub per service.
type Client struct {
	conn       *grpc.ClientConn
	Volumes    v1.VolumeServiceClient
	Snapshots  v1.SnapshotServiceClient
	Rollbacks  v1.RollbackServiceClient
	Operations v1.OperationServiceClient
	Audit      v1.AuditServiceClient
	Status     v1.StatusServiceClient
	Boot       v1.BootServiceClient
}

// Dial connects to volctld's unix socket. It looks at the socket first so
// that a daemon that is not running is a clear error, not a timeout.
func Dial(socket string) (*Client, error) {
	if socket == "" { // filepath.Abs would make it the current directory
		return nil, status.Error(codes.InvalidArgument, "no socket path given")
	}
	// gRPC reads "unix://" + a relative path as an authority.
	if abs, err := filepath.Abs(socket); err == nil {
		socket = abs
	}
	fi, err := os.Stat(socket)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return nil, status.Errorf(codes.Unavailable, "volctld is not running: no socket at %s (start volctld, or pass --socket)", socket)
	case errors.Is(err, os.ErrPermission):
		return nil, status.Errorf(codes.PermissionDenied, "cannot reach %s: permission denied (volctl needs the socket's owner or group)", socket)
	case err != nil:
		return nil, status.Errorf(codes.Unavailable, "socket %s: %v", socket, err)
	case fi.Mode()&os.ModeSocket == 0:
		return nil, status.Errorf(codes.InvalidArgument, "%s is not a socket", socket)
	}
	// gRPC connects lazily and would report a refused connect as a raw
	// dial error on the first call: connect once now to say what it means.
	if c, err := net.Dial("unix", socket); err != nil {
		switch {
		case errors.Is(err, os.ErrPermission):
			return nil, status.Errorf(codes.PermissionDenied, "cannot connect to %s: permission denied: the socket is for its owner and group (volctld.toml socket_group and socket_mode); ask for that group, or run volctl as a member", socket)
		case errors.Is(err, syscall.ECONNREFUSED):
			return nil, status.Errorf(codes.Unavailable, "volctld is not running: %s is left from an earlier run and nobody answers it (start volctld)", socket)
		}
		return nil, status.Errorf(codes.Unavailable, "connect to %s: %v", socket, err)
	} else {
		c.Close()
	}
	conn, err := grpc.NewClient("unix://"+socket, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return nil, status.Errorf(codes.Unavailable, "connect to %s: %v", socket, err)
	}
	return New(conn), nil
}

// DialTLS connects to volctld's TCP listener with mutual TLS: the client
// certificate and key, and the CA that signed the server's certificate.
func DialTLS(addr string, tlsCfg *tls.Config) (*Client, error) {
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(credentials.NewTLS(tlsCfg)))
	if err != nil {
		return nil, status.Errorf(codes.Unavailable, "connect to %s: %v", addr, err)
	}
	return New(conn), nil
}

// New wraps an existing connection (tests use bufconn).
func New(conn *grpc.ClientConn) *Client {
	return &Client{conn: conn,
		Volumes:    v1.NewVolumeServiceClient(conn),
		Snapshots:  v1.NewSnapshotServiceClient(conn),
		Rollbacks:  v1.NewRollbackServiceClient(conn),
		Operations: v1.NewOperationServiceClient(conn),
		Audit:      v1.NewAuditServiceClient(conn),
		Status:     v1.NewStatusServiceClient(conn),
		Boot:       v1.NewBootServiceClient(conn),
	}
}

// Conn is the connection (for services the Client does not wrap).
func (c *Client) Conn() *grpc.ClientConn { return c.conn }

// Close closes the connection.
func (c *Client) Close() error { return c.conn.Close() }

// Rollback runs a rollback and calls fn with every message of the stream. It
// returns the final operation (also when the rollback failed) and the
// stream's status.
func (c *Client) Rollback(ctx context.Context, req *v1.RollbackRequest, fn func(*v1.RollbackResponse)) (*v1.Operation, error) {
	stream, err := c.Rollbacks.Rollback(ctx, req)
	if err != nil {
		return nil, err
	}
	return drain(stream, fn)
}

// Recover retries an operation that needs attention, like Rollback.
func (c *Client) Recover(ctx context.Context, req *v1.RecoverOperationRequest, fn func(*v1.RecoverOperationResponse)) (*v1.Operation, error) {
	stream, err := c.Operations.RecoverOperation(ctx, req)
	if err != nil {
		return nil, err
	}
	return drain(stream, fn)
}

// Watch follows an operation from its first step to its end (or replays
// one that has ended), like Rollback.
func (c *Client) Watch(ctx context.Context, req *v1.WatchOperationRequest, fn func(*v1.WatchOperationResponse)) (*v1.Operation, error) {
	stream, err := c.Operations.WatchOperation(ctx, req)
	if err != nil {
		return nil, err
	}
	return drain(stream, fn)
}

// drain reads an operation's stream to its end, keeping the last operation
// it carried.
func drain[M interface{ GetOperation() *v1.Operation }](stream interface{ Recv() (M, error) }, fn func(M)) (*v1.Operation, error) {
	var final *v1.Operation
	for {
		m, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			return final, nil
		}
		if err != nil {
			return final, err
		}
		if op := m.GetOperation(); op != nil {
			final = op
		}
		if fn != nil {
			fn(m)
		}
	}
}

// ExitCode maps an error to volctl's exit status: the gRPC status code
// number (0 OK, 3 InvalidArgument, 5 NotFound, 9 FailedPrecondition,
// 10 Aborted, 13 Internal, 14 Unavailable, ...), except Unknown, and an
// error without a status, which are ExitUnknown (gRPC's number, 2, is the
// usage error's, as most commands have it), and Canceled, which is
// ExitInterrupted (only an interrupted caller cancels a call).
func ExitCode(err error) int {
	if err == nil {
		return 0
	}
	s, ok := status.FromError(err)
	switch {
	case !ok || s.Code() == codes.Unknown:
		return ExitUnknown
	case s.Code() == codes.Canceled:
		return ExitInterrupted
	}
	return int(s.Code())
}

// The exit statuses that are not gRPC codes.
const (
	// ExitUnknown is an error without a known cause (gRPC Unknown).
	ExitUnknown = 1
	// ExitInterrupted is a call canceled by Ctrl-C (128 + SIGINT, as a
	// shell reports it).
	ExitInterrupted = 130
)

// Message is the text of an error without gRPC's "rpc error: code = ..."
// wrapping, with its code once: the daemon's messages end with the
// sentinel's words (": not found"), which the code says again. The daemon
// names a missing consent as the API does (halt_zones); Message adds the
// flag that gives it, from the status's details.
func Message(err error) string {
	if s, ok := status.FromError(err); ok {
		msg := strings.TrimSuffix(s.Message(), ": "+codeWords(s.Code()))
		msg = fmt.Sprintf("%s (%s)", msg, s.Code())
		if flags := consentFlags(s); len(flags) > 0 {
			msg += "; pass " + strings.Join(flags, " and ") + " to consent"
		}
		if flags := optionFlags(s); len(flags) > 0 {
			msg += "; the flags: " + strings.Join(flags, ", ")
		}
		return msg
	}
	return err.Error()
}

// flagOf is the volctl flag of a RollbackOptions (or recover) field.
func flagOf(field string) string {
	if field == wire.ConsentSkipPeers {
		return "--skip-peer"
	}
	return "--" + strings.ReplaceAll(field, "_", "-")
}

// optionFlags are the volctl flags of the options a status says were
// refused (BadRequest violations of fields options.NAME).
func optionFlags(s *status.Status) []string {
	var flags []string
	for _, d := range s.Details() {
		if br, ok := d.(*errdetails.BadRequest); ok {
			for _, v := range br.GetFieldViolations() {
				if f, ok := strings.CutPrefix(v.GetField(), wire.OptionsPrefix); ok && !slices.Contains(flags, flagOf(f)) {
					flags = append(flags, flagOf(f))
				}
			}
		}
	}
	return flags
}

// consentFlags are the volctl flags that give the consents a status says
// are missing (PreconditionFailure violations of type CONSENT), in order;
// the names are the wire contract's (internal/wire).
func consentFlags(s *status.Status) []string {
	var peers []string
	for _, d := range s.Details() {
		if info, ok := d.(*errdetails.ErrorInfo); ok && info.GetDomain() == wire.ErrorDomain && info.GetMetadata()[wire.MetaPeers] != "" {
			peers = strings.Split(info.GetMetadata()[wire.MetaPeers], ",")
		}
	}
	var flags []string
	add := func(f string) {
		if !slices.Contains(flags, f) {
			flags = append(flags, f)
		}
	}
	for _, d := range s.Details() {
		pf, ok := d.(*errdetails.PreconditionFailure)
		if !ok {
			continue
		}
		for _, v := range pf.GetViolations() {
			switch {
			case v.GetType() != wire.ConsentViolation:
			case v.GetSubject() == wire.ConsentSkipPeers && len(peers) > 0:
				for _, p := range peers {
					add("--skip-peer " + p)
				}
			case v.GetSubject() == wire.ConsentSkipPeers:
				add("--skip-peer PEER")
			default:
				add(flagOf(v.GetSubject()))
			}
		}
	}
	return flags
}

// codeWords is a code's name as words: NotFound is "not found".
func codeWords(c codes.Code) string {
	var b strings.Builder
	for i, r := range c.String() {
		if unicode.IsUpper(r) {
			if i > 0 {
				b.WriteByte(' ')
			}
			r = unicode.ToLower(r)
		}
		b.WriteRune(r)
	}
	return b.String()
}
