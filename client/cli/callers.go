package cli

// What volctl says when its rollback is interrupted before it knew the
// operation, when it loses volctld, and `volctl op request` (issue 21).

import (
	"context"
	"time"

	"github.com/spf13/cobra"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/volctl/volctl/client"
	v1 "github.com/volctl/volctl/proto/volctl/v1"
)

// requestAnswer is volctld's answer about a request id, or why there is
// none.
type requestAnswer struct {
	resp *v1.GetRequestStatusResponse
	err  error
}

// askWithin bounds the question an interrupted volctl asks: volctld waits
// up to 2 s for a planning another caller waits for, and for one being
// stopped, to its end.
const askWithin = 15 * time.Second

// askRequest asks volctld, starting nothing, what requestID has started.
// The caller's context has ended (Ctrl-C), so it asks on its own.
func askRequest(c *client.Client, requestID string) requestAnswer {
	ctx, cancel := context.WithTimeout(context.Background(), askWithin)
	defer cancel()
	resp, err := c.Operations.GetRequestStatus(ctx, &v1.GetRequestStatusRequest{RequestId: requestID})
	return requestAnswer{resp, err}
}

// interruptedPlanning is what volctl says when interrupted before the
// stream named an operation: whether the rollback started, as volctld
// answers for the request id; never advice that would start it.
func interruptedPlanning(ans requestAnswer, requestID, snap string) error {
	return interruptedPlanningOf(ans, requestID, "the rollback of "+snap)
}

// interruptedPlanningOf is interruptedPlanning for what was asked ("the
// rollback of P/V@S", "the undo of operation 7").
func interruptedPlanningOf(ans requestAnswer, requestID, what string) error {
	if ans.err != nil {
		return status.Errorf(codes.Canceled, "interrupted while %s was being planned, and volctld could not be asked whether it started (%s): volctl op request %s says",
			what, client.Message(ans.err), requestID)
	}
	switch ans.resp.GetState() {
	case v1.RequestState_REQUEST_STATE_STARTED:
		op := ans.resp.GetOperation()
		return status.Errorf(codes.Canceled, "interrupted, but %s had started: operation %d (%s) continues in volctld: volctl op watch %d",
			what, op.GetId(), opWord(op.GetState()), op.GetId())
	case v1.RequestState_REQUEST_STATE_PLANNING:
		return status.Errorf(codes.Canceled, "interrupted while %s was being planned; another volctl with request id %s still waits for that planning, so it may start: volctl op request %s says whether it did",
			what, requestID, requestID)
	}
	return status.Errorf(codes.Canceled, "interrupted while %s was being planned: it did not start, nothing changed", what)
}

// connectionLost is what volctl says when volctld goes away mid-stream
// (killed, crashed, the host went down): the operation is journaled and
// resumes when volctld starts again; how to follow it then.
func connectionLost(err error, opID uint64, requestID, snap string) error {
	return connectionLostOf(err, opID, requestID, "the rollback of "+snap)
}

// connectionLostOf is connectionLost for what was asked, as in
// interruptedPlanningOf.
func connectionLostOf(err error, opID uint64, requestID, what string) error {
	msg := status.Convert(err).Message()
	if opID != 0 {
		return status.Errorf(codes.Unavailable, "lost volctld (%s) while operation %d ran: it is journaled and resumes when volctld starts again; once volctld is back: volctl op watch %d",
			msg, opID, opID)
	}
	return status.Errorf(codes.Unavailable, "lost volctld (%s) before %s named its operation: whether it started is not known here; once volctld is back, volctl op request %s says (and volctl history lists it)",
		msg, what, requestID)
}

// opRequestCmd is `volctl op request ID`: whether a rollback's request id
// started an operation, starting nothing.
func (a *app) opRequestCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "request REQUEST-ID",
		Short: "Say whether a rollback's request id started an operation, starting nothing",
		Long: `Ask volctld what the rollback with this --request-id did: the operation it
started (then 'volctl op watch N' follows it), a planning still under way
for another volctl with the same id, or nothing: then nothing started and
nothing changed. Unlike running the rollback again with the same
--request-id, this never starts one. An interrupted or disconnected
'volctl rollback' prints its request id.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return query(a, cmd, func(ctx context.Context, c *client.Client) (*v1.GetRequestStatusResponse, error) {
				return c.Operations.GetRequestStatus(ctx, &v1.GetRequestStatusRequest{RequestId: args[0]})
			}, func(resp *v1.GetRequestStatusResponse) error {
				switch resp.GetState() {
				case v1.RequestState_REQUEST_STATE_STARTED:
					op := resp.GetOperation()
					a.printf("request %s started operation %d (%s): volctl op watch %d\n", args[0], op.GetId(), opWord(op.GetState()), op.GetId())
				case v1.RequestState_REQUEST_STATE_PLANNING:
					a.printf("request %s is being planned for a volctl that waits for it: it may start\n", args[0])
				default:
					a.printf("request %s started nothing: no operation has it and none is being planned\n", args[0])
				}
				return nil
			})
		},
	}
}
