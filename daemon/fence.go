package daemon

import (
	"errors"
	"fmt"
	"io/fs"
	"os"

	"github.com/hashicorp/go-hclog"

	"github.com/volctl/volctl/daemon/config"
	"github.com/volctl/volctl/daemon/execx"
)

// logFence names the fence's logger.
const logFence = "fence"

// fenceCommands puts up the fence against the commands an earlier volctld
// left running (issue 19; docs/platform/process-fencing.md): every command
// it recorded next to the journal that still runs is killed with its
// process group and waited for, and from then on every command this
// daemon runs is recorded there. RunWith calls it once the journal is its
// own (its lock held: no other volctld runs on this journal, so every
// record is an earlier daemon's) and before anything runs a command: the
// resumes of engine.Start, a recover, a zone call of a peer. An error
// (a directory anyone else could change, a command that survives SIGKILL)
// stops the start: nothing may change the host while an earlier command
// still can. stop ends the recording, once no command runs any more, and
// removes the directory if it is empty: a start refused later (a socket
// path that is not a socket...) leaves nothing new behind.
func fenceCommands(cfg config.Config, log hclog.Logger) (stop func(), err error) {
	dir := cfg.CommandsDir()
	created := true
	if err := os.Mkdir(dir, 0o700); errors.Is(err, fs.ErrExist) {
		created = false
	} else if err != nil {
		return nil, fmt.Errorf("registry of running commands: %w", err)
	}
	fail := func(err error) (func(), error) {
		if created {
			_ = os.Remove(dir)
		}
		return nil, err
	}
	if err := config.CheckStateDir(dir); err != nil {
		return fail(fmt.Errorf("registry of running commands: %w", err))
	}
	reg, err := execx.OpenRegistry(dir, log)
	if err != nil {
		return fail(err)
	}
	if err := reg.Fence(execx.FenceTimeout); err != nil {
		return nil, err // the records that could not be fenced stay
	}
	untrack := execx.Track(reg)
	return func() {
		untrack()
		_ = os.Remove(dir) // only if empty
	}, nil
}
