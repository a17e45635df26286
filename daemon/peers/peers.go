// Package peers is the storage host's client of its zone hosts' volctld:
// the zone service over mutual TLS 1.3, one connection per configured
// peer, each peer's certificate pinned to the configured subject. It
// implements zones.Peers for the Solaris backend.
package peers

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"
	"google.golang.org/grpc"
	"google.golang.org/grpc/backoff"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/status"

	"github.com/volctl/volctl/daemon/config"
	"github.com/volctl/volctl/daemon/engine"
	"github.com/volctl/volctl/daemon/peerwire"
	"github.com/volctl/volctl/daemon/zones"
	"github.com/volctl/volctl/internal/certpool"
	v1 "github.com/volctl/volctl/proto/volctl/v1"
	"github.com/volctl/volctl/store"
)

// Set is every configured peer.
type Set struct {
	peers []*peer
	log   hclog.Logger
	// Audit, when set, records every call to a peer in this host's audit
	// trail (the peer audits it in its own).
	Audit func(store.AuditRecord)
}

func (s *Set) audit(peer, method, target string, err error, detail string) {
	if s.Audit == nil {
		return
	}
	s.Audit(store.AuditRecord{Who: "volctld", Role: "peer client", Method: "peer " + peer + ": /volctl.v1.ZoneService/" + method,
		Target: target, Allowed: true, Result: status.Code(err).String(), Detail: detail})
}

type peer struct {
	cfg  config.Peer
	link *link
}

// New dials nothing yet (gRPC connects on the first call); it fails on a
// certificate or CA file that cannot be read.
func New(cfgs []config.Peer, log hclog.Logger) (*Set, error) {
	s := &Set{log: log}
	for _, c := range cfgs {
		tc, err := TLS(c)
		if err != nil {
			s.Close()
			return nil, fmt.Errorf("peer %s: %w", c.Name, err)
		}
		// A peer that comes back is reached within seconds: gRPC's default
		// reconnect backoff grows to two minutes. A call does not wait for
		// the backoff (link.use).
		l, err := newLink(c.Name, log, func() (*grpc.ClientConn, error) {
			return grpc.NewClient(c.Address, grpc.WithTransportCredentials(credentials.NewTLS(tc)),
				grpc.WithConnectParams(grpc.ConnectParams{MinConnectTimeout: 5 * time.Second,
					Backoff: backoff.Config{BaseDelay: 200 * time.Millisecond, Multiplier: 1.6, Jitter: 0.2, MaxDelay: 2 * time.Second}}))
		})
		if err != nil {
			s.Close()
			return nil, fmt.Errorf("peer %s: %w", c.Name, err)
		}
		s.peers = append(s.peers, &peer{cfg: c, link: l})
	}
	return s, nil
}

// TLS is the client side of a peer connection: this host's certificate,
// the peer's CA, TLS 1.3 only, and the peer's certificate subject (CN or
// full subject) pinned. Peers are named by that subject, not by DNS: the
// chain is verified against the CA without a host name, then the subject
// must be the configured one.
func TLS(c config.Peer) (*tls.Config, error) {
	cert, err := tls.LoadX509KeyPair(c.Cert, c.Key)
	if err != nil {
		return nil, fmt.Errorf("client certificate: %w", err)
	}
	pool, err := certpool.FromFile("peer CA", c.CA)
	if err != nil {
		return nil, err
	}
	return &tls.Config{
		Certificates: []tls.Certificate{cert},
		MinVersion:   tls.VersionTLS13,
		// Verified below against the CA and the pinned subject.
		InsecureSkipVerify: true, //nolint:gosec // replaced by VerifyConnection
		VerifyConnection: func(cs tls.ConnectionState) error {
			if len(cs.PeerCertificates) == 0 {
				return errors.New("the peer sent no certificate")
			}
			inter := x509.NewCertPool()
			for _, ic := range cs.PeerCertificates[1:] {
				inter.AddCert(ic)
			}
			leaf := cs.PeerCertificates[0]
			if _, err := leaf.Verify(x509.VerifyOptions{Roots: pool, Intermediates: inter, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}); err != nil {
				return fmt.Errorf("peer certificate: %w", err)
			}
			if leaf.Subject.CommonName != c.Subject && leaf.Subject.String() != c.Subject {
				return fmt.Errorf("peer certificate subject is %q, the configuration expects %q", leaf.Subject.String(), c.Subject)
			}
			return nil
		},
	}, nil
}

// Close closes every connection.
func (s *Set) Close() {
	for _, p := range s.peers {
		p.link.close()
	}
}

// Names implements zones.Peers.
func (s *Set) Names() []string {
	var n []string
	for _, p := range s.peers {
		n = append(n, p.cfg.Name)
	}
	return n
}

// Find implements zones.Peers: every peer at once, each within its
// timeout; one report per peer, in configuration order. A peer that could
// not be reached before is connected to again for the call (link.use).
func (s *Set) Find(ctx context.Context, q zones.Query) []zones.Report {
	req := &v1.FindZonesRequest{Zone: q.Zone}
	for _, l := range q.LUs {
		r := &v1.LURef{Guid: l.GUID}
		for _, p := range l.Paths {
			r.Paths = append(r.Paths, &v1.TargetLUN{Target: p.Target, Lun: int32(p.LUN)})
		}
		req.LogicalUnits = append(req.LogicalUnits, r)
	}
	out := make([]zones.Report, len(s.peers))
	var wg sync.WaitGroup
	for i, p := range s.peers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cctx, cancel := context.WithTimeout(ctx, p.cfg.PeerTimeout())
			defer cancel()
			start := time.Now()
			zs, done := p.link.use()
			resp, err := zs.FindZones(cctx, req, grpc.WaitForReady(false))
			done()
			r := zones.Report{Peer: p.cfg.Name}
			s.audit(p.cfg.Name, "FindZones", queryTarget(q), err, "")
			if err != nil {
				r.Err = describe(p.cfg, err)
				s.log.Warn("peer did not answer", "peer", p.cfg.Name, "addr", p.cfg.Address, "error", err, "after", time.Since(start))
				out[i] = r
				return
			}
			r.Hostname, r.HostID, r.Initiators, r.AuxKnown = resp.GetHostname(), resp.GetHostid(), resp.GetInitiators(), resp.GetAuxKnown()
			r.Zonecfg, r.Zlogin = resp.GetZonecfg(), resp.GetZlogin()
			for _, z := range resp.GetZones() {
				zn := zones.Zone{Name: z.GetName(), State: z.GetState(), Brand: z.GetBrand(), Aux: z.GetAux(),
					Storage: z.GetStorage(), AuxListed: resp.GetAuxKnown() && z.GetAux() != peerwire.AuxNotListed}
				for _, d := range z.GetDevices() {
					zn.Devices = append(zn.Devices, zones.Device{ID: int(d.GetId()), Storage: d.GetStorage(), BootPri: int(d.GetBootpri())})
				}
				r.Zones = append(r.Zones, zn)
			}
			r.Commands = peerwire.Commands(p.cfg.Name, resp.GetCommands())
			if len(r.Commands) > 0 {
				r.Zoneadm = r.Commands[0].Argv[0]
			}
			out[i] = r
		}()
	}
	wg.Wait()
	return out
}

// Act implements zones.Peers. A call that did not reach a definite answer
// (unavailable, deadline) is retried here with the same key a few times:
// the peer's journal makes that safe. Errors the peer gives for the call
// itself (bad key, refused) are permanent. All of it is bounded by limit
// (what the action's commands may take) plus the peer's timeout: a peer
// that stops answering does not hold the step longer.
func (s *Set) Act(ctx context.Context, name, key, zone string, verb zones.Verb, limit time.Duration) (zones.Result, error) {
	return s.act(ctx, name, key, zone, verb, nil, limit)
}

// ActRescue implements zones.Peers: Act for a rescue verb, with its
// arguments.
func (s *Set) ActRescue(ctx context.Context, name, key, with string, verb zones.Verb, r zones.Rescue, limit time.Duration) (zones.Result, error) {
	return s.act(ctx, name, key, with, verb, &r, limit)
}

func (s *Set) act(ctx context.Context, name, key, zone string, verb zones.Verb, rescue *zones.Rescue, limit time.Duration) (zones.Result, error) {
	p := s.byName(name)
	if p == nil {
		return zones.Result{}, engine.Permanent(fmt.Errorf("no peer %q is configured", name))
	}
	ctx, cancel := context.WithTimeout(ctx, limit+p.cfg.PeerTimeout())
	defer cancel()
	req := &v1.ZoneActionRequest{Key: key, Zone: zone, Verb: peerwire.ToVerb(verb), Rescue: peerwire.ToRescue(rescue)}
	var err error
	for attempt := 0; attempt < 3; attempt++ {
		if attempt > 0 {
			select {
			case <-ctx.Done():
				return zones.Result{}, describe(p.cfg, err)
			case <-time.After(time.Duration(attempt) * time.Second):
			}
		}
		var resp *v1.ZoneActionResponse
		zs, done := p.link.use()
		resp, err = zs.ZoneAction(ctx, req)
		done()
		detail := "key " + key + " " + string(verb)
		if resp.GetError() != "" {
			detail += ": " + resp.GetError()
		}
		s.audit(name, "ZoneAction", "zone "+zone, err, detail)
		if err == nil {
			s.log.Info("peer zone action", "peer", name, "zone", zone, "verb", verb, "key", key, "state", resp.GetState(),
				"error", resp.GetError(), "replayed", resp.GetReplayed())
			return zones.Result{State: resp.GetState(), Commands: peerwire.Commands(name, resp.GetCommands()), Err: resp.GetError(),
				Permanent: resp.GetPermanent(), InUse: resp.GetInUse(), Replayed: resp.GetReplayed()}, nil
		}
		switch status.Code(err) {
		case codes.Unavailable, codes.DeadlineExceeded, codes.ResourceExhausted, codes.Aborted:
			s.log.Warn("peer zone action: no answer, retrying with the same key", "peer", name, "key", key, "error", err)
			continue
		}
		return zones.Result{}, engine.Permanent(describe(p.cfg, err))
	}
	return zones.Result{}, describe(p.cfg, err)
}

// queryTarget names what a FindZones asks about, for the audit.
func queryTarget(q zones.Query) string {
	if q.Zone != "" {
		return "zone " + q.Zone
	}
	var g []string
	for _, l := range q.LUs {
		g = append(g, l.GUID)
	}
	return "zones on LU " + strings.Join(g, ", ")
}

func (s *Set) byName(name string) *peer {
	for _, p := range s.peers {
		if p.cfg.Name == name {
			return p
		}
	}
	return nil
}

// describe says which peer failed and how, in one line. gRPC's text for
// a peer that cannot be reached is its dialer's; it is said plainly.
func describe(c config.Peer, err error) error {
	st := status.Convert(err)
	msg := st.Message()
	switch {
	case strings.Contains(msg, "connection refused"):
		msg = "connection refused (is its volctld running and listening there?)"
	case strings.Contains(msg, "no route to host"), strings.Contains(msg, "i/o timeout"):
		msg = "not reachable over the network"
	case strings.Contains(msg, "certificate"), strings.Contains(msg, "tls:"):
		msg = "the TLS handshake failed: " + msg
	}
	return fmt.Errorf("peer %s at %s did not answer: %s: %s", c.Name, c.Address, st.Code(), msg)
}
