// Command volctl-devpki writes a throw-away CA and certificates for the
// two-host demo: volctl-devpki DIR NAME... (see internal/devpki).
package main

import (
	"fmt"
	"os"

	"github.com/volctl/volctl/internal/devpki"
)

func main() {
	if len(os.Args) < 3 {
		fmt.Fprintln(os.Stderr, "usage: volctl-devpki DIR NAME...")
		os.Exit(2)
	}
	f, err := devpki.Write(os.Args[1], os.Args[2:]...)
	if err != nil {
		fmt.Fprintln(os.Stderr, "volctl-devpki:", err)
		os.Exit(1)
	}
	fmt.Println("wrote", f.CA, "and a certificate and key for each of", os.Args[2:])
}
