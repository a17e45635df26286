package server

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"

	"github.com/volctl/volctl/daemon/engine"
	"github.com/volctl/volctl/daemon/execx"
	v1 "github.com/volctl/volctl/proto/volctl/v1"
	"github.com/volctl/volctl/store"
)

// manyBackend has volumes pool/v0000..v(n-1), listed out of order, and
// the snapshots s0..s4 of each in creation order.
type manyBackend struct {
	fakeBackend
	n int
}

func (b manyBackend) ListVolumes(context.Context, execx.RunFunc) ([]engine.Volume, error) {
	var vols []engine.Volume
	for i := b.n - 1; i >= 0; i-- {
		vols = append(vols, engine.Volume{Name: fmt.Sprintf("pool/v%04d", i), Type: "volume"})
	}
	return vols, nil
}

func (manyBackend) Snapshots(_ context.Context, _ execx.RunFunc, vol string) ([]engine.Snapshot, error) {
	var snaps []engine.Snapshot
	for i := range 5 {
		snaps = append(snaps, engine.Snapshot{Name: fmt.Sprintf("%s@s%d", vol, i), Creation: time.Unix(int64(1000+i), 0)})
	}
	return snaps, nil
}

// listing is one List RPC as the paging test drives it.
type listing struct {
	name string
	// call makes the request with size and token (and the list's filter,
	// other when set) and returns the items' keys and the next token.
	call func(ctx context.Context, size int32, token string, other bool) ([]string, string, error)
	// want are every item's keys, in order.
	want []string
}

// TestListPaging pages through each List two at a time (AIP-158): every
// item once, in order; then refuses a negative page_size, a token of
// another list and a token used with another filter.
func TestListPaging(t *testing.T) {
	d := startDaemon(t, manyBackend{n: 5})
	for i := range 5 {
		vol := "pool/a"
		if i%2 == 1 {
			vol = "pool/b"
		}
		if _, _, err := d.db.CreateOperation(&store.Operation{Kind: "rollback", Volume: vol, Snapshot: vol + "@s", State: store.OpSucceeded}); err != nil {
			t.Fatal(err)
		}
		if _, err := d.db.AppendAudit(store.AuditRecord{Who: "uid=0(root) gid=0", Method: "/volctl.v1.SnapshotService/CreateSnapshot", Target: fmt.Sprint(i), Allowed: true}); err != nil {
			t.Fatal(err)
		}
	}
	conn := d.dial(t, viewerID)
	vols, snaps := v1.NewVolumeServiceClient(conn), v1.NewSnapshotServiceClient(conn)
	ops, audit := v1.NewOperationServiceClient(conn), v1.NewAuditServiceClient(conn)
	filter := func(other bool, a, b string) string {
		if other {
			return b
		}
		return a
	}
	lists := []listing{
		{"volumes", func(ctx context.Context, size int32, token string, _ bool) ([]string, string, error) {
			r, err := vols.ListVolumes(ctx, &v1.ListVolumesRequest{PageSize: size, PageToken: token})
			var keys []string
			for _, v := range r.GetVolumes() {
				keys = append(keys, v.GetName())
			}
			return keys, r.GetNextPageToken(), err
		}, []string{"pool/v0000", "pool/v0001", "pool/v0002", "pool/v0003", "pool/v0004"}},
		{"snapshots", func(ctx context.Context, size int32, token string, other bool) ([]string, string, error) {
			r, err := snaps.ListSnapshots(ctx, &v1.ListSnapshotsRequest{Volume: filter(other, "pool/v0000", "pool/v0001"), PageSize: size, PageToken: token})
			var keys []string
			for _, s := range r.GetSnapshots() {
				keys = append(keys, s.GetName())
			}
			return keys, r.GetNextPageToken(), err
		}, []string{"pool/v0000@s0", "pool/v0000@s1", "pool/v0000@s2", "pool/v0000@s3", "pool/v0000@s4"}},
		{"operations of pool/a", func(ctx context.Context, size int32, token string, other bool) ([]string, string, error) {
			r, err := ops.ListOperations(ctx, &v1.ListOperationsRequest{Volume: filter(other, "pool/a", "pool/b"), PageSize: size, PageToken: token})
			var keys []string
			for _, op := range r.GetOperations() {
				keys = append(keys, fmt.Sprint(op.GetId()))
			}
			return keys, r.GetNextPageToken(), err
		}, []string{"5", "3", "1"}},
		{"audit, newest first", func(ctx context.Context, size int32, token string, _ bool) ([]string, string, error) {
			r, err := audit.ListAudit(ctx, &v1.ListAuditRequest{PageSize: size, PageToken: token})
			var keys []string
			for _, rec := range r.GetRecords() {
				keys = append(keys, fmt.Sprint(rec.GetSeq()))
			}
			return keys, r.GetNextPageToken(), err
		}, []string{"5", "4", "3", "2", "1"}},
	}
	ctx := context.Background()
	for _, l := range lists {
		t.Run(l.name, func(t *testing.T) {
			var got []string
			var tokens []string
			pages := 0
			for token := ""; ; {
				keys, next, err := l.call(ctx, 2, token, false)
				if err != nil {
					t.Fatalf("page %d: %v", pages+1, err)
				}
				if len(keys) > 2 {
					t.Fatalf("page %d: %d items for page_size 2", pages+1, len(keys))
				}
				pages++
				got = append(got, keys...)
				if next == "" {
					break
				}
				tokens = append(tokens, next)
				token = next
			}
			if !slices.Equal(got, l.want) || pages != (len(l.want)+1)/2 {
				t.Errorf("got %v in %d pages, want %v in %d", got, pages, l.want, (len(l.want)+1)/2)
			}
			all, next, err := l.call(ctx, 0, "", false)
			if err != nil || !slices.Equal(all, l.want) || next != "" {
				t.Errorf("page_size 0: %v, next %q, %v; want every item, no next page", all, next, err)
			}
			if _, _, err := l.call(ctx, -1, "", false); status.Code(err) != codes.InvalidArgument {
				t.Errorf("page_size -1: %v, want InvalidArgument", err)
			}
			for _, bad := range []string{"garbage!", pageToken{List: "nosuch"}.String()} {
				if _, _, err := l.call(ctx, 2, bad, false); status.Code(err) != codes.InvalidArgument {
					t.Errorf("page_token %q: %v, want InvalidArgument", bad, err)
				}
			}
			if l.name == "snapshots" || strings.HasPrefix(l.name, "operations") {
				if _, _, err := l.call(ctx, 2, tokens[0], true); status.Code(err) != codes.InvalidArgument || !strings.Contains(err.Error(), "another filter") {
					t.Errorf("a token used with another volume: %v, want InvalidArgument", err)
				}
			}
		})
	}
	// One list's token is refused by another.
	vr, _ := vols.ListVolumes(ctx, &v1.ListVolumesRequest{PageSize: 1})
	if _, err := ops.ListOperations(ctx, &v1.ListOperationsRequest{PageToken: vr.GetNextPageToken()}); status.Code(err) != codes.InvalidArgument {
		t.Errorf("ListOperations with a volumes token: %v, want InvalidArgument", err)
	}
	// The deprecated limit still caps when page_size is 0, and pages on.
	or, err := ops.ListOperations(ctx, &v1.ListOperationsRequest{Limit: 2})
	if err != nil || len(or.GetOperations()) != 2 || or.GetOperations()[0].GetId() != 5 || or.GetNextPageToken() == "" {
		t.Errorf("limit 2: %v, %v", or, err)
	}
	// With after, the audit trail is oldest first, and has no token.
	ar, err := audit.ListAudit(ctx, &v1.ListAuditRequest{After: 2, PageSize: 2, PageToken: "ignored"})
	if err != nil || len(ar.GetRecords()) != 2 || ar.GetRecords()[0].GetSeq() != 3 || ar.GetRecords()[1].GetSeq() != 4 || ar.GetNextPageToken() != "" {
		t.Errorf("after 2: %v, %v; want 3, 4 and no token", ar, err)
	}
}

// TestPageSizeCapped: a page_size over 1000 is coerced to 1000, not
// refused.
func TestPageSizeCapped(t *testing.T) {
	d := startDaemon(t, manyBackend{n: maxPageSize + 1})
	vols := v1.NewVolumeServiceClient(d.dial(t, viewerID))
	for _, size := range []int32{0, 5000} {
		r, err := vols.ListVolumes(context.Background(), &v1.ListVolumesRequest{PageSize: size})
		if err != nil || len(r.GetVolumes()) != maxPageSize || r.GetNextPageToken() == "" {
			t.Fatalf("page_size %d: %d volumes, next %q, %v; want 1000 and a next page", size, len(r.GetVolumes()), r.GetNextPageToken(), err)
		}
		r, err = vols.ListVolumes(context.Background(), &v1.ListVolumesRequest{PageSize: size, PageToken: r.GetNextPageToken()})
		if err != nil || len(r.GetVolumes()) != 1 || r.GetVolumes()[0].GetName() != "pool/v1000" || r.GetNextPageToken() != "" {
			t.Errorf("page_size %d, page 2: %v, %v", size, r.GetVolumes(), err)
		}
	}
}

// consentBackend captures an identity but lacks two consents.
type consentBackend struct{ fakeBackend }

func (consentBackend) Capture(context.Context, execx.RunFunc, string, store.Options) (store.Identity, []string, error) {
	id := store.Identity{Volume: "pool/v", Snapshot: "pool/v@s", NewerSnapshots: []string{"pool/v@t"}}
	return id, nil, fmt.Errorf("initiator i can see the LU: %w", engine.NeedsConsent(engine.ConsentAcceptSessions))
}

// TestConsentDetails: a refused dry run carries its plan, the ErrorInfo
// naming the consent and a PreconditionFailure, over the wire.
func TestConsentDetails(t *testing.T) {
	d := startDaemon(t, consentBackend{})
	_, err := v1.NewRollbackServiceClient(d.dial(t, rootID)).PlanRollback(context.Background(), &v1.PlanRollbackRequest{Snapshot: "pool/v@s"})
	st := status.Convert(err)
	if st.Code() != codes.FailedPrecondition || !strings.HasSuffix(st.Message(), "needs consent accept_sessions") || strings.Contains(st.Message(), "--") {
		t.Fatalf("PlanRollback: %v", err)
	}
	var info *errdetails.ErrorInfo
	var pf *errdetails.PreconditionFailure
	var plan *v1.Plan
	for _, det := range st.Details() {
		switch det := det.(type) {
		case *errdetails.ErrorInfo:
			info = det
		case *errdetails.PreconditionFailure:
			pf = det
		case *v1.Plan:
			plan = det
		}
	}
	if info.GetReason() != "CONSENT_REQUIRED" || info.GetDomain() != "volctl.io" || info.GetMetadata()["consent"] != "accept_sessions" {
		t.Errorf("ErrorInfo %v", info)
	}
	if v := pf.GetViolations(); len(v) != 1 || v[0].GetType() != "CONSENT" || v[0].GetSubject() != "accept_sessions" {
		t.Errorf("PreconditionFailure %v", pf)
	}
	if !slices.Equal(plan.GetNewerSnapshots(), []string{"pool/v@t"}) {
		t.Errorf("plan detail %v, want the plan of pool/v@s", plan)
	}
}

// TestHealthEveryService: the server ("") and each service it registers
// report SERVING over the wire, and NOT_SERVING after SetServing(false).
func TestHealthEveryService(t *testing.T) {
	conn, _ := serve(t, nil)
	h := healthpb.NewHealthClient(conn)
	for _, name := range append([]string{""}, services...) {
		r, err := h.Check(context.Background(), &healthpb.HealthCheckRequest{Service: name})
		if err != nil || r.GetStatus() != healthpb.HealthCheckResponse_SERVING {
			t.Errorf("Check(%q) = %v, %v; want SERVING", name, r.GetStatus(), err)
		}
	}

	// Every service Register adds has its status: none is left out.
	g := grpc.NewServer()
	s := New(nil, nil, "test")
	s.Register(g)
	s.SetServing(false)
	for name := range g.GetServiceInfo() {
		if name == healthpb.Health_ServiceDesc.ServiceName || strings.HasPrefix(name, "grpc.reflection.") {
			continue
		}
		r, err := s.health.Check(context.Background(), &healthpb.HealthCheckRequest{Service: name})
		if err != nil || r.GetStatus() != healthpb.HealthCheckResponse_NOT_SERVING {
			t.Errorf("registered %s: health %v, %v; want NOT_SERVING", name, r.GetStatus(), err)
		}
	}
}

// shrinkingBackend lists the snapshots in *snaps, which the test changes
// between pages.
type shrinkingBackend struct {
	fakeBackend
	snaps *[]engine.Snapshot
}

func (b shrinkingBackend) Snapshots(context.Context, execx.RunFunc, string) ([]engine.Snapshot, error) {
	return slices.Clone(*b.snaps), nil
}

// TestSnapshotPageAfterDestroy: when the last snapshot of a page is
// destroyed before the next page is asked for, the next page starts after
// it all the same (by its creation), neither again at the start nor
// skipping one.
func TestSnapshotPageAfterDestroy(t *testing.T) {
	var snaps []engine.Snapshot
	for i := range 5 {
		snaps = append(snaps, engine.Snapshot{Name: fmt.Sprintf("pool/v@s%d", i), Creation: time.Unix(int64(1000+i), 0)})
	}
	d := startDaemon(t, shrinkingBackend{snaps: &snaps})
	c := v1.NewSnapshotServiceClient(d.dial(t, viewerID))
	r, err := c.ListSnapshots(context.Background(), &v1.ListSnapshotsRequest{Volume: "pool/v", PageSize: 2})
	if err != nil || len(r.GetSnapshots()) != 2 || r.GetNextPageToken() == "" {
		t.Fatalf("page 1: %v, %v", r, err)
	}
	snaps = slices.Delete(snaps, 1, 2) // s1, the page's last, is destroyed
	r, err = c.ListSnapshots(context.Background(), &v1.ListSnapshotsRequest{Volume: "pool/v", PageSize: 2, PageToken: r.GetNextPageToken()})
	var names []string
	for _, s := range r.GetSnapshots() {
		names = append(names, s.GetName())
	}
	if err != nil || !slices.Equal(names, []string{"pool/v@s2", "pool/v@s3"}) {
		t.Errorf("page 2 after s1 was destroyed: %v, %v; want s2, s3", names, err)
	}
}
