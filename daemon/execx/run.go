package execx

import "context"

// RunFunc runs one argv. Adapters take one so that the engine can record
// every command of a step in the journal; Runner.Run is the plain one.
type RunFunc func(ctx context.Context, argv []string) (*Result, error)
