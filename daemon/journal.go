package daemon

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/volctl/volctl/daemon/config"
)

// prepareJournal checks the journal's directory and path before the
// journal is opened (config.CheckJournalDir, CheckJournalPath: only root,
// or the daemon's euid, can change what is there), creating a missing
// directory 0700 and checking it again. Anything else refuses the start.
func prepareJournal(path string) error {
	if !filepath.IsAbs(path) {
		return fmt.Errorf("db %q is not an absolute path", path)
	}
	path = filepath.Clean(path)
	dir := filepath.Dir(path)
	exists, err := config.CheckJournalDir(dir)
	if err != nil {
		return err
	}
	if !exists {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return fmt.Errorf("journal directory: %w", err)
		}
		if _, err := config.CheckJournalDir(dir); err != nil {
			return err
		}
	}
	return config.CheckJournalPath(path)
}
