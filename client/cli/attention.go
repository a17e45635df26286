package cli

// What needs attention (issue 21): status, ls and show name each
// operation that needs attention, what it left and the command that
// finishes it; status exits exitAttention while there is one.

import (
	"fmt"
	"io"
	"strings"

	v1 "github.com/volctl/volctl/proto/volctl/v1"
)

// exitAttention is volctl status's exit status while an operation needs
// attention: above every gRPC code (0-16) and the usage status (2), so a
// monitor tells it from a daemon that did not answer (14).
const exitAttention = 20

// exitError is a command's outcome that is not a failure of a call: Main
// prints msg and exits with code.
type exitError struct {
	code int
	msg  string
}

func (e *exitError) Error() string { return e.msg }

// finishCommand is the command that finishes op: recover (with the
// consent it needs), or resolve once it was put right by hand.
func finishCommand(op *v1.AttentionOperation) string {
	cmd := fmt.Sprintf("volctl recover %d", op.GetId())
	if op.GetNeedsRepersist() {
		cmd += " --repersist"
	}
	return fmt.Sprintf("%s (or, once put right by hand: volctl resolve %d --reason TEXT)", cmd, op.GetId())
}

// printAttention writes to w what op left and how to finish it, each line
// after indent.
func printAttention(w io.Writer, indent string, op *v1.AttentionOperation) {
	var holds []string
	for _, v := range op.GetVolumes() {
		holds = append(holds, "volume "+v)
	}
	for _, z := range op.GetZones() {
		holds = append(holds, "zone "+z)
	}
	fmt.Fprintf(w, "%soperation %d needs attention (%s); it holds %s\n", indent, op.GetId(), op.GetSnapshot(), strings.Join(holds, ", "))
	if len(op.GetLeft()) > 0 {
		fmt.Fprintf(w, "%s  left:      %s\n", indent, strings.Join(op.GetLeft(), "; "))
	} else {
		fmt.Fprintf(w, "%s  left:      %s\n", indent, dash(op.GetAttention()))
	}
	fmt.Fprintf(w, "%s  finish it: %s\n", indent, finishCommand(op))
}

// attentionExit is status's outcome while operations need attention.
func attentionExit(ops []*v1.AttentionOperation) error {
	if len(ops) == 0 {
		return nil
	}
	var ids []string
	for _, op := range ops {
		ids = append(ids, fmt.Sprint(op.GetId()))
	}
	msg := fmt.Sprintf("operation %s needs attention (exit %d): volctl op show %s says what is left", ids[0], exitAttention, ids[0])
	if len(ids) > 1 {
		msg = fmt.Sprintf("operations %s need attention (exit %d): volctl op show ID says what each left", strings.Join(ids, ", "), exitAttention)
	}
	return &exitError{code: exitAttention, msg: msg}
}
