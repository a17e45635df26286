//go:build !linux

package simtest

import "os/exec"

// dieWithParent: only Linux has a parent-death signal; the simulator's
// servers run on the Linux test machines.
func dieWithParent(*exec.Cmd) {}
