//go:build !unix

package daemon

import "errors"

func raiseNofile() (uint64, error) { return 0, errors.New("no RLIMIT_NOFILE here") }
