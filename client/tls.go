package client

import (
	"crypto/tls"
	"fmt"

	"github.com/volctl/volctl/internal/certpool"
)

// TLSConfig builds the client side of volctld's mutual TLS (for DialTLS): a
// client certificate and the CA that signed the server's. serverName is the
// name the server's certificate must carry.
func TLSConfig(certFile, keyFile, serverCAFile, serverName string) (*tls.Config, error) {
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return nil, fmt.Errorf("client certificate: %w", err)
	}
	pool, err := certpool.FromFile("server CA", serverCAFile)
	if err != nil {
		return nil, err
	}
	return &tls.Config{Certificates: []tls.Certificate{cert}, RootCAs: pool, ServerName: serverName, MinVersion: tls.VersionTLS13}, nil
}
