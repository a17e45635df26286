package engine

import "time"

// Timeout is the configured deadline of argv here (its base name's
// [timeouts.command], or the default): what Run gives it. A step that asks
// another host to run a command bounds its wait for the answer with it.
func (x *Exec) Timeout(argv []string) time.Duration { return x.s.e.timeout(argv) }
