package simtest

import (
	"os/exec"
	"syscall"
)

// dieWithParent makes a server end (SIGTERM) when the test process that
// started it dies, even of a timeout's panic: it would serve an empty
// temp dir forever otherwise.
func dieWithParent(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
}
