package daemon_test

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/volctl/volctl/client"
	v1 "github.com/volctl/volctl/proto/volctl/v1"
	"github.com/volctl/volctl/sim/simtest"
)

// http2Preface is what a gRPC client sends first: the HTTP/2 client
// preface and an empty SETTINGS frame. A connection that has sent it is
// set up as far as the server is concerned, so the handshake deadline does
// not close it.
const http2Preface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + "\x00\x00\x00\x04\x00\x00\x00\x00\x00"

// TestHelperHoldSetUpConnections is not a test: run as another uid by
// TestRootNotLockedOutByOtherUIDs, it opens VOLCTL_HOLD_N connections to
// VOLCTL_HOLD_SOCKET that each send the HTTP/2 preface (as an idle gRPC
// client would), says how many the daemon kept, and holds them until
// killed.
func TestHelperHoldSetUpConnections(t *testing.T) {
	sock := os.Getenv("VOLCTL_HOLD_SOCKET")
	if sock == "" {
		return
	}
	n, _ := strconv.Atoi(os.Getenv("VOLCTL_HOLD_N"))
	var conns []net.Conn
	for i := 0; i < n; i++ {
		c, err := net.Dial("unix", sock)
		if err != nil {
			break
		}
		c.Write([]byte(http2Preface))
		conns = append(conns, c)
	}
	time.Sleep(500 * time.Millisecond)
	open := 0
	for _, c := range conns {
		// An open connection has the server's SETTINGS to read, or nothing
		// yet; a closed one ends.
		c.SetReadDeadline(time.Now().Add(10 * time.Millisecond))
		if _, err := c.Read(make([]byte, 64)); err == nil || strings.Contains(err.Error(), "timeout") {
			open++
		}
	}
	fmt.Printf("open %d of %d\n", open, len(conns))
	os.Stdout.Sync()
	time.Sleep(time.Hour)
}

// holdAs runs TestHelperHoldSetUpConnections as uid (the test binary,
// copied where uid can run it) and returns how many connections the
// daemon kept.
func holdAs(t *testing.T, exe string, uid int, sock string, n int) int {
	t.Helper()
	cmd := exec.Command(exe, "-test.run=^TestHelperHoldSetUpConnections$")
	cmd.Dir = "/"
	cmd.Env = append(os.Environ(), "VOLCTL_HOLD_SOCKET="+sock, "VOLCTL_HOLD_N="+strconv.Itoa(n))
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(uid), Gid: uint32(uid)}}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	line, err := bufio.NewReader(out).ReadString('\n')
	var open, tried int
	if _, serr := fmt.Sscanf(line, "open %d of %d", &open, &tried); serr != nil {
		t.Fatalf("helper as uid %d said %q (%v): %v", uid, line, err, serr)
	}
	return open
}

// copyTestBinary puts the test binary where other uids can run it.
func copyTestBinary(t *testing.T) string {
	t.Helper()
	self, err := os.ReadFile(os.Args[0])
	if err != nil {
		t.Fatal(err)
	}
	dir, err := os.MkdirTemp("", "hold")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	exe := filepath.Join(dir, "hold.test")
	if err := os.WriteFile(exe, self, 0o755); err != nil {
		t.Fatal(err)
	}
	return exe
}

// TestRootNotLockedOutByOtherUIDs: eight uids without a role hold 32
// set-up connections each (the per-uid limit), 256 in all, the default
// max_connections. They get the shared part only (max_connections -
// reserved_connections); root's status, on a new connection each time,
// and its rollback still answer (issue 19: they were Unavailable).
func TestRootNotLockedOutByOtherUIDs(t *testing.T) {
	needRoot(t)
	root := simtest.Host(t)
	if err := os.Chmod(simtest.Build(t), 0o755); err != nil {
		t.Fatal(err)
	}
	cfg, sock := writeConfigWith(t, root, `socket_mode = "0666"`, "[roles]\noperator_uids = [0]\n")
	if err := os.Chmod(filepath.Dir(sock), 0o755); err != nil {
		t.Fatal(err)
	}
	d := startDaemon(t, cfg, sock)
	exe := copyTestBinary(t)
	held := 0
	for uid := 3001; uid <= 3008; uid++ {
		held += holdAs(t, exe, uid, sock, 32)
	}
	t.Logf("eight uids without a role hold %d connections", held)
	if held > 256-32 {
		t.Errorf("uids without a role hold %d connections; at most %d (max_connections 256 - reserved_connections 32)", held, 256-32)
	}
	var took []time.Duration
	for i := 0; i < 20; i++ {
		start := time.Now()
		c, err := client.Dial(sock)
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		st, err := c.Status.GetStatus(ctx, &v1.GetStatusRequest{})
		cancel()
		c.Close()
		took = append(took, time.Since(start))
		if err != nil || st.GetCallerRole() != "operator" {
			t.Fatalf("root's status %d with the others' connections held: %v (%v)", i+1, err, st.GetCallerRole())
		}
	}
	slices.Sort(took)
	t.Logf("root's status (dial + GetStatus), 20 calls: median %v, max %v", took[10], took[19])
	op, err := d.client().Rollback(context.Background(), &v1.RollbackRequest{Snapshot: "pool/idisk0@snap1"}, nil)
	if err != nil || op.GetState() != v1.OperationState_OPERATION_STATE_SUCCEEDED {
		t.Fatalf("root's rollback with the others' connections held: %v (%v)", err, op.GetState())
	}
	simtest.Must(t, root, simtest.AtSnapshot)
}

// tlsDaemon starts a daemon with a mutual-TLS listener whose peer_subjects
// has storage-1, and returns its address and a client credential of that
// peer.
func tlsDaemon(t *testing.T, top string) (addr string, peer credentials.TransportCredentials) {
	t.Helper()
	root := simtest.Host(t)
	dir := t.TempDir()
	ca := newPKI(t, dir, "good")
	srvCert, srvKey := ca.issue(t, "volctld", true)
	peerCert, peerKey := ca.issue(t, "storage-1", false)
	addr = freePort(t)
	cfg, sock := writeConfigWith(t, root, top, fmt.Sprintf(`[roles]
operator_uids = [0]
peer_subjects = ["storage-1"]
[tcp]
listen = %q
cert = %q
key = %q
client_ca = %q
`, addr, srvCert, srvKey, filepath.Join(dir, "good-ca.pem")))
	startDaemon(t, cfg, sock)
	pool := x509.NewCertPool()
	caPEM, err := os.ReadFile(filepath.Join(dir, "good-ca.pem"))
	if err != nil {
		t.Fatal(err)
	}
	pool.AppendCertsFromPEM(caPEM)
	cert, err := tls.LoadX509KeyPair(peerCert, peerKey)
	if err != nil {
		t.Fatal(err)
	}
	return addr, credentials.NewTLS(&tls.Config{RootCAs: pool, ServerName: "127.0.0.1", Certificates: []tls.Certificate{cert},
		MinVersion: tls.VersionTLS13})
}

// TestTCPHandshakeDeadline: a TCP connection that never sends a
// ClientHello is closed once handshake_timeout has passed (issue 19: after
// gRPC's default of 120 s).
func TestTCPHandshakeDeadline(t *testing.T) {
	addr, _ := tlsDaemon(t, `handshake_timeout = "1s"`)
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	start := time.Now()
	c.SetReadDeadline(time.Now().Add(20 * time.Second))
	_, err = c.Read(make([]byte, 1))
	took := time.Since(start)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Fatalf("a connection that sent nothing was still open after %v (handshake_timeout 1s)", took)
	}
	if err == nil {
		t.Fatal("the daemon sent something to a connection that never began TLS")
	}
	if took > 10*time.Second {
		t.Errorf("closed after %v, handshake_timeout 1s", took)
	}
	t.Logf("a connection that never sent a ClientHello was closed after %v: %v", took.Round(time.Millisecond), err)
}

// TestTCPPeerNotLockedOutByUnauthenticated: clients without a certificate
// from eight source addresses keep 32 connections each open without
// starting TLS, opening a new one whenever one is closed (issue 19: they
// filled max_connections and the storage host's calls were refused). A
// configured peer still connects, again and again.
func TestTCPPeerNotLockedOutByUnauthenticated(t *testing.T) {
	addr, peerCreds := tlsDaemon(t, `handshake_timeout = "2s"`)
	ctx, stop := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	var mu sync.Mutex
	dials := 0
	t.Cleanup(func() { stop(); wg.Wait() })
	for a := 2; a <= 9; a++ {
		d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, byte(a))}}
		for i := 0; i < 32; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for ctx.Err() == nil {
					c, err := d.DialContext(ctx, "tcp", addr)
					if err != nil {
						time.Sleep(10 * time.Millisecond)
						continue
					}
					mu.Lock()
					dials++
					mu.Unlock()
					go func() { <-ctx.Done(); c.Close() }()
					io.Copy(io.Discard, c) // until the daemon closes it
					c.Close()
					time.Sleep(10 * time.Millisecond)
				}
			}()
		}
	}
	time.Sleep(3 * time.Second) // the flood is established
	for i := 0; i < 5; i++ {
		start := time.Now()
		conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(peerCreds))
		if err != nil {
			t.Fatal(err)
		}
		cctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		_, err = healthpb.NewHealthClient(conn).Check(cctx, &healthpb.HealthCheckRequest{}, grpc.WaitForReady(true))
		cancel()
		conn.Close()
		if err != nil {
			t.Fatalf("the peer's call %d during the flood: %v", i+1, err)
		}
		t.Logf("the peer's call %d on a new connection during the flood: %v", i+1, time.Since(start).Round(time.Millisecond))
	}
	mu.Lock()
	t.Logf("the flood opened %d connections", dials)
	mu.Unlock()
}
