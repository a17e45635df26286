package store

// The attention index: the operations that need attention, each with the
// volumes and zones it holds. It is written in the same transaction as the
// operation, so it is never behind the journal (a crash, a restart), and it
// is small: a request checks it without reading the history.

import (
	"encoding/json"
	"slices"
	"strings"

	bolt "go.etcd.io/bbolt"
)

// Hold is an operation that needs attention and what it holds: every
// volume it names and every zone it captured, each on the host it is on
// and on those that have it configured. Until the operation is recovered
// or resolved, nothing else may change them.
type Hold struct {
	Op      uint64    `json:"op"`
	Volumes []string  `json:"volumes"`
	Zones   []ZoneRef `json:"zones,omitempty"`
	// Attention is what the operation says is left.
	Attention string `json:"attention,omitempty"`
	// State is the holder's state: needs_attention, or waiting (an
	// operation that waits for an admin, rescue --shell). Empty in
	// entries written before it: needs_attention.
	State OpState `json:"state,omitempty"`
}

// ZoneRef names a zone on a host: Host is a peer's name in the
// configuration, empty for this host. A zone of the same name on another
// host is another zone.
type ZoneRef struct {
	Name string `json:"name"`
	Host string `json:"host,omitempty"`
}

// HoldOf is what op holds while it needs attention: op.Volume, the volume
// of each of its identities (a group's members) and of each snapshot of
// its group, and each zone of each identity on its Host and on every
// ConfiguredOn host (a zone being migrated is the same zone there).
func HoldOf(op *Operation) Hold {
	h := Hold{Op: op.ID, Attention: op.Attention}
	if op.State == OpWaiting {
		h.State = OpWaiting
	}
	addVol := func(v string) {
		if v != "" && !slices.Contains(h.Volumes, v) {
			h.Volumes = append(h.Volumes, v)
		}
	}
	addZone := func(z ZoneRef) {
		if z.Name != "" && !slices.Contains(h.Zones, z) {
			h.Zones = append(h.Zones, z)
		}
	}
	addVol(op.Volume)
	for _, s := range op.Options.Group {
		v, _, _ := strings.Cut(s, "@")
		addVol(v)
	}
	for _, id := range op.Volumes() {
		addVol(id.Volume)
		for _, z := range id.Zones {
			addZone(ZoneRef{Name: z.Name, Host: z.Host})
			for _, host := range z.ConfiguredOn {
				addZone(ZoneRef{Name: z.Name, Host: host})
			}
		}
	}
	return h
}

// setAttentionTx keeps the attention index in step with the operation's
// state.
func setAttentionTx(tx *bolt.Tx, op *Operation) error {
	b := tx.Bucket(bucketRoot).Bucket(bucketAttn)
	if !op.State.Holds() {
		return b.Delete(u64(op.ID))
	}
	v, err := json.Marshal(HoldOf(op))
	if err != nil {
		return err
	}
	return b.Put(u64(op.ID), v)
}

// Holds returns the operations that need attention, oldest first, each
// with what it holds. It reads the attention index only.
func (db *DB) Holds() ([]Hold, error) {
	var holds []Hold
	err := db.view("listing the operations that need attention", func(tx *bolt.Tx) error {
		return tx.Bucket(bucketRoot).Bucket(bucketAttn).ForEach(func(k, v []byte) error {
			id, err := db.idOf(k, "attention index")
			if err != nil {
				return err
			}
			var h Hold
			if err := json.Unmarshal(v, &h); err != nil {
				return db.corrupt(err, "attention index, operation %d: decode: %v", id, err)
			}
			if h.Op != id {
				return db.corrupt(nil, "attention index: the entry of operation %d names operation %d", id, h.Op)
			}
			holds = append(holds, h)
			return nil
		})
	})
	return holds, err
}
