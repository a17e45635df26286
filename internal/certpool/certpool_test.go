package certpool

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestFromFile(t *testing.T) {
	dir := t.TempDir()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IsCA: true, BasicConstraintsValid: true}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	good := write("ca.pem", pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
	empty := write("empty.pem", []byte("not a certificate\n"))
	missing := filepath.Join(dir, "missing.pem")

	for _, tc := range []struct {
		name, file string
		wantErr    string // prefix of the error; "" for success
	}{
		{"one certificate", good, ""},
		{"no certificate in the file", empty, "server CA " + empty + ": no certificate found"},
		{"no file", missing, "server CA: open " + missing},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pool, err := FromFile("server CA", tc.file)
			if tc.wantErr == "" {
				if err != nil || pool == nil {
					t.Fatalf("FromFile = %v, %v", pool, err)
				}
				return
			}
			if err == nil || !strings.HasPrefix(err.Error(), tc.wantErr) {
				t.Fatalf("FromFile error = %v, want %q...", err, tc.wantErr)
			}
		})
	}
}
