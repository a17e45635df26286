package daemon_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/volctl/volctl/client"
	v1 "github.com/volctl/volctl/proto/volctl/v1"
	"github.com/volctl/volctl/sim"
	"github.com/volctl/volctl/sim/simtest"
)

// pki writes a CA and certificates signed by it into dir.
type pki struct {
	dir  string
	ca   *x509.Certificate
	key  *ecdsa.PrivateKey
	name string
}

func newPKI(t *testing.T, dir, name string) *pki {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: name + " CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(der)
	p := &pki{dir: dir, ca: ca, key: key, name: name}
	writePEM(t, filepath.Join(dir, name+"-ca.pem"), "CERTIFICATE", der)
	return p
}

func writePEM(t *testing.T, path, typ string, der []byte) {
	t.Helper()
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
}

// issue makes a certificate for cn (a server when server is true) and
// returns the paths of the certificate and key.
func (p *pki) issue(t *testing.T, cn string, server bool) (certPath, keyPath string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	serial, _ := rand.Int(rand.Reader, big.NewInt(1<<62))
	tmpl := &x509.Certificate{SerialNumber: serial, Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}
	if server {
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
		tmpl.IPAddresses = []net.IP{net.ParseIP("127.0.0.1")}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, p.ca, &key.PublicKey, p.key)
	if err != nil {
		t.Fatal(err)
	}
	kder, _ := x509.MarshalECPrivateKey(key)
	certPath = filepath.Join(p.dir, p.name+"-"+cn+".pem")
	keyPath = filepath.Join(p.dir, p.name+"-"+cn+"-key.pem")
	writePEM(t, certPath, "CERTIFICATE", der)
	writePEM(t, keyPath, "EC PRIVATE KEY", kder)
	return certPath, keyPath
}

func freePort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

func needRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("SKIP (loud): access-control tests need root to run the CLI as other uids; run make test as root")
	}
}

// runAs runs volctl as uid with the given args and returns exit code and
// output.
func runAs(t *testing.T, uid int, socket string, args ...string) (int, string) {
	t.Helper()
	return runWithGroups(t, uid, uid, nil, socket, args...)
}

func TestUnixSocketRolesAndAudit(t *testing.T) {
	needRoot(t)
	root := simtest.Host(t)
	bin := simtest.Build(t)
	// Let other uids reach the binaries and the socket's directory.
	if err := os.Chmod(bin, 0o755); err != nil {
		t.Fatal(err)
	}
	// Others may reach the socket: peer credentials decide, not the mode.
	cfg, sock := writeConfigWith(t, root, `socket_mode = "0666"`, `[roles]
operator_uids = [0]
viewer_uids = [65534]
`)
	if err := os.Chmod(filepath.Dir(sock), 0o755); err != nil {
		t.Fatal(err)
	}
	d := startDaemon(t, cfg, sock)

	// A viewer may look but not roll back.
	if code, out := runAs(t, 65534, sock, "ls"); code != 0 {
		t.Fatalf("viewer ls: exit %d\n%s", code, out)
	}
	code, out := runAs(t, 65534, sock, "rollback", "pool/idisk0@snap1")
	if code != 7 || !strings.Contains(out, "PermissionDenied") || !strings.Contains(out, "uid=65534") || !strings.Contains(out, "needs operator") {
		t.Fatalf("viewer rollback: exit %d (want 7 PermissionDenied)\n%s", code, out)
	}
	// Someone with no role may not even look.
	if code, out := runAs(t, 12345, sock, "ls"); code != 7 {
		t.Fatalf("stranger ls: exit %d, want 7\n%s", code, out)
	}
	simtest.Must(t, root, simtest.Untouched)

	// root is an operator: the rollback runs, and the audit trail has it all.
	c := d.client()
	if _, err := c.Rollback(context.Background(), &v1.RollbackRequest{Snapshot: "pool/idisk0@snap1"}, nil); err != nil {
		t.Fatal(err)
	}
	code, out = runAs(t, 0, sock, "audit")
	if code != 0 {
		t.Fatalf("audit: %d %s", code, out)
	}
	t.Logf("volctl audit:\n%s", out)
	for _, want := range []string{
		"uid=65534(nobody) gid=65534  viewer  RollbackService/Rollback  pool/idisk0@snap1  false    PermissionDenied",
		"uid=12345(?) gid=12345       none    VolumeService/ListVolumes",
		"uid=0(root) gid=0            operator  RollbackService/Rollback  pool/idisk0@snap1  true     succeeded  1",
	} {
		if !containsFields(out, want) {
			t.Errorf("audit lacks %q", want)
		}
	}
	resp, err := c.Audit.ListAudit(context.Background(), &v1.ListAuditRequest{})
	if err != nil {
		t.Fatal(err)
	}
	last := resp.GetRecords()[0] // newest first
	for _, want := range []string{`"before"`, `"after"`, `"plan"`, sim.SeedGUID0, `"hg-kz"`} {
		if !strings.Contains(last.GetDetail(), want) {
			t.Errorf("rollback audit detail lacks %s: %s", want, last.GetDetail())
		}
	}
	// Status tells who you are.
	st, err := c.Status.GetStatus(context.Background(), &v1.GetStatusRequest{})
	if err != nil || st.GetPlatform() != "solaris" || st.GetCallerRole() != "operator" {
		t.Errorf("status: %v %v", st, err)
	}
}

// containsFields matches want's whitespace-separated fields in order on one
// line of out.
func containsFields(out, want string) bool {
	wf := strings.Fields(want)
	for _, line := range strings.Split(out, "\n") {
		lf := strings.Fields(line)
		i := 0
		for _, f := range lf {
			if i < len(wf) && f == wf[i] {
				i++
			}
		}
		if i == len(wf) {
			return true
		}
	}
	return false
}

func TestSocketModeAndGroup(t *testing.T) {
	needRoot(t)
	g, err := user.LookupGroup("nogroup")
	if err != nil {
		t.Skipf("SKIP (loud): no group nogroup here: %v", err)
	}
	root := simtest.Host(t)
	cfg, sock := writeConfigWith(t, root, `socket_mode = "0660"
socket_group = "nogroup"`, "")
	startDaemon(t, cfg, sock)
	fi, err := os.Stat(sock)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o660 || fi.Mode()&os.ModeSocket == 0 {
		t.Errorf("socket mode %v, want srw-rw----", fi.Mode())
	}
	st := fi.Sys().(*syscall.Stat_t)
	if strconv.Itoa(int(st.Gid)) != g.Gid || st.Uid != 0 {
		t.Errorf("socket owner %d:%d, want 0:%s", st.Uid, st.Gid, g.Gid)
	}
	bin := simtest.Build(t)
	for _, dir := range []string{bin, filepath.Dir(sock)} {
		if err := os.Chmod(dir, 0o755); err != nil { // the socket's mode decides, not the way to it
			t.Fatal(err)
		}
	}
	// Someone outside the group cannot even connect, and is told why
	// (PermissionDenied with the config key), not a raw dial error.
	if code, out := runAs(t, 12345, sock, "ls"); code != 7 || !strings.Contains(out, "socket_group") {
		t.Errorf("uid 12345 on a 0660 socket: exit %d, want 7 naming socket_group:\n%s", code, out)
	}
}

func TestSecondDaemonRefused(t *testing.T) {
	root := simtest.Host(t)
	cfg, sock := writeConfig(t, root)
	startDaemon(t, cfg, sock)
	bin := simtest.Build(t)
	out, err := exec.Command(filepath.Join(bin, "volctld"), "-config", cfg).CombinedOutput()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || !strings.Contains(string(out), "in use by another process") {
		t.Fatalf("second volctld on the same journal: %v\n%s", err, out)
	}
}

func TestTCPNeedsAClientCertificateFromTheCA(t *testing.T) {
	root := simtest.Host(t)
	dir := t.TempDir()
	ca := newPKI(t, dir, "good")
	other := newPKI(t, dir, "other")
	srvCert, srvKey := ca.issue(t, "volctld", true)
	opsCert, opsKey := ca.issue(t, "ops-1", false)
	monCert, monKey := ca.issue(t, "monitor", false)
	rogueCert, rogueKey := other.issue(t, "ops-1", false) // right name, wrong CA
	addr := freePort(t)
	cfg, sock := writeConfigWith(t, root, "", fmt.Sprintf(`[roles]
operator_uids = [0]
operator_subjects = ["ops-1"]
viewer_subjects = ["monitor"]
[tcp]
listen = %q
cert = %q
key = %q
client_ca = %q
`, addr, srvCert, srvKey, filepath.Join(dir, "good-ca.pem")))
	startDaemon(t, cfg, sock)
	caPath := filepath.Join(dir, "good-ca.pem")

	call := func(creds credentials.TransportCredentials) error {
		conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(creds))
		if err != nil {
			return err
		}
		defer conn.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_, err = client.New(conn).Volumes.ListVolumes(ctx, &v1.ListVolumesRequest{})
		return err
	}
	if err := call(insecure.NewCredentials()); err == nil {
		t.Error("plain TCP was served")
	}
	pool := x509.NewCertPool()
	caPEM, _ := os.ReadFile(caPath)
	pool.AppendCertsFromPEM(caPEM)
	if err := call(credentials.NewTLS(&tls.Config{RootCAs: pool, ServerName: "127.0.0.1"})); err == nil {
		t.Error("TLS without a client certificate was served")
	}
	rogue, err := tls.LoadX509KeyPair(rogueCert, rogueKey)
	if err != nil {
		t.Fatal(err)
	}
	if err := call(credentials.NewTLS(&tls.Config{RootCAs: pool, ServerName: "127.0.0.1", Certificates: []tls.Certificate{rogue}})); err == nil {
		t.Error("a client certificate from another CA was accepted")
	}

	// Through the CLI: the viewer may plan but not roll back; the operator may.
	bin := simtest.Build(t)
	volctl := func(cert, key string, args ...string) (int, string) {
		cmd := exec.Command(filepath.Join(bin, "volctl"), append([]string{"--addr", addr, "--tls-cert", cert, "--tls-key", key, "--tls-ca", caPath}, args...)...)
		out, err := cmd.CombinedOutput()
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return ee.ExitCode(), string(out)
		}
		return 0, string(out)
	}
	if code, out := volctl(monCert, monKey, "rollback", "--dry-run", "pool/idisk0@snap1"); code != 0 {
		t.Errorf("viewer dry run over TLS: exit %d\n%s", code, out)
	}
	if code, out := volctl(monCert, monKey, "rollback", "pool/idisk0@snap1"); code != 7 || !strings.Contains(out, "cert:CN=monitor has role viewer") {
		t.Errorf("viewer rollback over TLS: exit %d, want 7\n%s", code, out)
	}
	if code, out := volctl(opsCert, opsKey, "rollback", "pool/idisk0@snap1"); code != 0 {
		t.Errorf("operator rollback over TLS: exit %d\n%s", code, out)
	}
	simtest.Must(t, root, simtest.AtSnapshot)
	if code, out := volctl(opsCert, opsKey, "audit"); code != 0 || !containsFields(out, "cert:CN=monitor viewer RollbackService/Rollback pool/idisk0@snap1 false PermissionDenied") {
		t.Errorf("audit over TLS lacks the denial: exit %d\n%s", code, out)
	}
}
