package cli

import (
	"fmt"
	"strings"

	"google.golang.org/protobuf/reflect/protoreflect"

	v1 "github.com/volctl/volctl/proto/volctl/v1"
)

// targets are every volume of op and the snapshot each goes back to,
// volume first: a group rollback names all of them wherever it is shown.
// A daemon that does not send the lists (older than them) gives the plan's
// group, else the one volume.
func targets(op *v1.Operation) (vols, snaps []string) {
	if len(op.GetVolumes()) > 0 && len(op.GetSnapshots()) == len(op.GetVolumes()) {
		return op.GetVolumes(), op.GetSnapshots()
	}
	if g := op.GetPlan().GetGroup(); len(g) > 1 {
		for _, s := range g {
			v, _, _ := strings.Cut(s, "@")
			vols = append(vols, v)
		}
		return vols, g
	}
	return []string{op.GetVolume()}, []string{op.GetSnapshot()}
}

// targetText is what an operation rolls back, for a line of text:
// "pool/idisk0 -> pool/idisk0@snap1", or for a group "2 volumes ->
// pool/idisk0@g1, pool/idisk1@g1".
func targetText(op *v1.Operation) string {
	if r := op.GetRescue(); op.GetKind() == kindRescue && r != nil { // rescue.go
		return fmt.Sprintf("rescue of %s with %s (%s)", r.GetZone(), r.GetWith(), op.GetVolume())
	}
	if op.GetKind() == kindForget {
		// A forget goes back nowhere: it destroys what another kept.
		return fmt.Sprintf("destroy what operation %d kept (%s)", op.GetForgetOf(), strings.Join(op.GetForgetDatasets(), ", "))
	}
	vols, snaps := targets(op)
	if len(vols) > 1 {
		return fmt.Sprintf("%d volumes -> %s", len(vols), strings.Join(snaps, ", "))
	}
	return vols[0] + " -> " + snaps[0]
}

// givenFlags are the options and consents set in m (RollbackOptions,
// RecoverOptions) as the flags that give them ("--halt-zones",
// "--skip-peer kz-host1"), in the message's field order. It reads the
// fields from the message's descriptor, so that an option added to the
// API is shown without a change here.
func givenFlags(m protoreflect.Message) []string {
	var out []string
	fields := m.Descriptor().Fields()
	for i := 0; i < fields.Len(); i++ {
		fd := fields.Get(i)
		flag := "--" + strings.ReplaceAll(string(fd.Name()), "_", "-")
		if fd.Name() == "skip_peers" { // repeatable, one peer a flag
			flag = "--skip-peer"
		}
		switch {
		case fd.IsList():
			l := m.Get(fd).List()
			for j := 0; j < l.Len(); j++ {
				out = append(out, flag+" "+l.Get(j).String())
			}
		case fd.Kind() == protoreflect.BoolKind && m.Get(fd).Bool():
			out = append(out, flag)
		case fd.Kind() != protoreflect.BoolKind && m.Has(fd):
			out = append(out, flag+" "+m.Get(fd).String())
		}
	}
	return out
}

// timesWord is n as a count of times: "once", "twice", "3 times".
func timesWord(n uint32) string {
	switch n {
	case 1:
		return "once"
	case 2:
		return "twice"
	}
	return fmt.Sprintf("%d times", n)
}
