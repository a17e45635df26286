// Command volctld is the volctl daemon.
package main

import (
	"os"

	"github.com/volctl/volctl/daemon"
)

func main() { os.Exit(daemon.Main(os.Args[1:], os.Stdout, os.Stderr)) }
