package cli

import (
	"encoding/json"

	"github.com/spf13/cobra"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	v1 "github.com/volctl/volctl/proto/volctl/v1"
)

// versionJSON is volctl version's JSON (docs/json.md): the one output that
// is not an API message, since half of it is the client's.
type versionJSON struct {
	Client struct {
		Version string `json:"version"`
	} `json:"client"`
	// Daemon is null when the daemon did not answer.
	Daemon *daemonVersion `json:"daemon"`
}

type daemonVersion struct {
	Version       string `json:"version"`
	Platform      string `json:"platform"`
	SchemaVersion uint64 `json:"schema_version"`
}

func (a *app) versionCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Show volctl's version and volctld's (version, platform, journal schema)",
		Long: `Show volctl's version and, when volctld answers, the daemon's: its version,
platform and journal schema. When it does not, volctl's version is printed
all the same and the exit status says why (14: not running).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var out versionJSON
			out.Client.Version = Version
			resp, err := a.daemonStatus(cmd)
			if err == nil {
				out.Daemon = &daemonVersion{Version: resp.GetVersion(), Platform: resp.GetPlatform(), SchemaVersion: resp.GetSchemaVersion()}
			}
			if a.json() {
				b, jerr := json.Marshal(out)
				if jerr != nil {
					return jerr
				}
				if jerr := a.writeJSON(b, true); jerr != nil {
					return jerr
				}
			} else {
				a.printf("volctl  %s\n", Version)
				if d := out.Daemon; d != nil {
					a.printf("volctld %s on platform %s, journal schema %d\n", d.Version, d.Platform, d.SchemaVersion)
				} else {
					a.printf("volctld unreachable\n")
				}
			}
			if err != nil {
				st, _ := status.FromError(err)
				return status.Errorf(st.Code(), "volctld unreachable: %s", st.Message())
			}
			return nil
		},
	}
}

func (a *app) daemonStatus(cmd *cobra.Command) (*v1.GetStatusResponse, error) {
	c, err := a.dial()
	if err != nil {
		return nil, err
	}
	defer c.Close()
	resp, err := c.Status.GetStatus(cmd.Context(), &v1.GetStatusRequest{})
	if err != nil {
		if _, ok := status.FromError(err); !ok {
			err = status.Error(codes.Unavailable, err.Error())
		}
		return nil, err
	}
	return resp, nil
}
