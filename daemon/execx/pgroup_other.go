//go:build !unix

package execx

import "os/exec"

func setProcessGroup(*exec.Cmd) {}
