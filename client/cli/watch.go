package cli

import (
	"github.com/spf13/cobra"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	v1 "github.com/volctl/volctl/proto/volctl/v1"
)

// opWatchCmd is `volctl op watch ID`: an operation from its first step,
// from any terminal, as rollback shows it (the same progress printer).
func (a *app) opWatchCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "watch ID",
		Short: "Follow an operation from its first step to its end, from any terminal",
		Long: `Show an operation as 'volctl rollback' shows it: the plan, every step and
command from the first (replayed from volctld's memory and journal, also
across a daemon restart), then what happens live, then the result. An
operation that has ended is replayed whole. The exit status is the
operation's, as rollback's would be; Ctrl-C stops watching, not the
operation.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := parseID(args[0])
			if err != nil {
				return err
			}
			c, err := a.dial()
			if err != nil {
				return err
			}
			defer c.Close()
			final, err := a.follow(func(show func(proto.Message)) (*v1.Operation, error) {
				return c.Watch(cmd.Context(), &v1.WatchOperationRequest{Id: id}, func(m *v1.WatchOperationResponse) { show(m) })
			})
			if final == nil && cmd.Context().Err() != nil {
				return status.Errorf(codes.Canceled, "stopped watching: operation %d continues in volctld: volctl op watch %d", id, id)
			}
			return err
		},
	}
}
