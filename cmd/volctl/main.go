// Command volctl is the CLI of volctld.
package main

import (
	"os"

	"github.com/volctl/volctl/client/cli"
)

func main() { os.Exit(cli.Main(os.Args[1:], os.Stdout, os.Stderr)) }
