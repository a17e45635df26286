//go:build !linux && !solaris

package execx

import (
	"fmt"
	"runtime"
)

var errProcUnsupported = fmt.Errorf("the registry of running commands reads /proc, as on Linux, Solaris and illumos; not on %s", runtime.GOOS)

func readProc(int) (procInfo, error) { return procInfo{}, errProcUnsupported }

func readArgs(*procInfo) error { return errProcUnsupported }

func bootID() (string, error) { return "", errProcUnsupported }
