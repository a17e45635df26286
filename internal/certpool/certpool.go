// Package certpool reads the CA file each end of volctld's mutual TLS
// verifies the other with: the daemon its clients' CA (daemon/auth), the CLI
// the server's CA (client). It lives apart from both so the CLI need not
// import the daemon to read a PEM file.
package certpool

import (
	"crypto/x509"
	"fmt"
	"os"
)

// FromFile returns a pool of the PEM certificates in file. what names the CA
// in errors ("client CA", "server CA"), so the user knows which flag or
// setting is wrong. A file without a certificate is an error: an empty pool
// would refuse every peer with a message about the peer, not the file.
func FromFile(what, file string) (*x509.CertPool, error) {
	pem, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("%s %s: no certificate found", what, file)
	}
	return pool, nil
}
