package store

import "time"

// OpState is the state of an operation in the journal.
type OpState string

// Operation states. An operation is terminal when it succeeded, rolled back,
// needs attention or was resolved; the daemon resumes every other one at
// start.
const (
	OpPlanned        OpState = "planned"
	OpRunning        OpState = "running"
	OpCompensating   OpState = "compensating"
	OpSucceeded      OpState = "succeeded"
	OpRolledBack     OpState = "rolled_back"
	OpNeedsAttention OpState = "needs_attention"
	// OpResolved: it needed attention and an admin, having put things
	// right by hand, released it (volctl resolve); Resolution says who,
	// when and why.
	OpResolved OpState = "resolved"
	// OpWaiting: the operation stopped, on purpose, at a step that waits
	// for an admin (a rescue --shell: the pool imported in the rescue zone
	// for them to change files; docs/rescue.md §5). Nothing runs until
	// they finish it (or abandon it); meanwhile it holds its volumes and
	// zones as an operation that needs attention does.
	OpWaiting OpState = "waiting"
)

// Terminal reports whether nothing more will happen to the operation without
// a person asking (recover; for a waiting one, rescue --finish or
// --abandon): the daemon does not resume it at start.
func (s OpState) Terminal() bool {
	return s == OpSucceeded || s == OpRolledBack || s == OpNeedsAttention || s == OpResolved || s == OpWaiting
}

// Holds reports whether an operation in state s holds its volumes and
// zones against every other operation while nothing runs (the attention
// index): it needs attention, or it waits for an admin.
func (s OpState) Holds() bool { return s == OpNeedsAttention || s == OpWaiting }

// StepState is the state of one step in the journal.
type StepState string

// Step states.
const (
	StepPending      StepState = "pending"
	StepRunning      StepState = "running"
	StepDone         StepState = "done"
	StepFailed       StepState = "failed"
	StepSkipped      StepState = "skipped"
	StepCompensating StepState = "compensating"
	StepCompensated  StepState = "compensated"
)

// Operation is one rollback as journaled: the request, everything captured
// before the first change, and each step with the commands it ran. Recovery
// works from this record alone, never from asking the platform what used to
// be there.
type Operation struct {
	ID        uint64   `json:"id"`
	RequestID string   `json:"request_id,omitempty"`
	Kind      string   `json:"kind"`
	Platform  string   `json:"platform"`
	Volume    string   `json:"volume"`
	Snapshot  string   `json:"snapshot"`
	Options   Options  `json:"options"`
	State     OpState  `json:"state"`
	Identity  Identity `json:"identity"`
	// Members are the other volumes of a group rollback, each captured as
	// Identity is (their zones are in Identity.Zones, once each).
	Members     []Identity `json:"members,omitempty"`
	Steps       []Step     `json:"steps"`
	Error       string     `json:"error,omitempty"`
	Attention   string     `json:"attention,omitempty"`
	Warnings    []string   `json:"warnings,omitempty"`
	RequestedBy string     `json:"requested_by,omitempty"`
	Recoveries  uint32     `json:"recoveries,omitempty"`
	Created     time.Time  `json:"created"`
	Updated     time.Time  `json:"updated"`
	// OutageStart and OutageEnd bound the LU's absence (delete-lu start until
	// the LU is back with its views).
	OutageStart time.Time `json:"outage_start,omitempty"`
	OutageEnd   time.Time `json:"outage_end,omitempty"`
	// Capabilities are what the host's commands supported when the
	// operation was planned; the steps build their argv from them, so a
	// resumed operation runs the same commands.
	Capabilities Capabilities `json:"capabilities,omitempty"`
	// NeedsRepersist: the undo brought an LU back that STMF no longer
	// persists (see engine.ErrUnpersisted); recover needs the caller's
	// consent (Options.Repersist) to re-persist it.
	NeedsRepersist bool `json:"needs_repersist,omitempty"`
	// Resumes are the times the operation was picked up again after it
	// stopped (a daemon start, a recover), oldest first.
	Resumes []Resume `json:"resumes,omitempty"`
	// Idle is how long, in all, the operation stood still between the
	// journal's last write before a stop and its resume: the time it was
	// active is Updated - Created - Idle.
	Idle time.Duration `json:"idle,omitempty"`
	// Resolution is set when an admin released the operation from
	// needs_attention by hand (state OpResolved).
	Resolution *Resolution `json:"resolution,omitempty"`
}

// Resolution is an admin's release of an operation that needed attention:
// they put right by hand what it left, and said so.
type Resolution struct {
	Time time.Time `json:"time"`
	// By is the caller, as RequestedBy names one.
	By     string `json:"by"`
	Reason string `json:"reason"`
	// Attention is what the operation said was left when it was resolved
	// (the operation's Attention is cleared: nothing is left now).
	Attention string `json:"attention,omitempty"`
}

// Resume triggers.
const (
	ResumeRestart = "restart"
	ResumeRecover = "recover"
	// ResumeFinish and ResumeAbandon: an admin ended the wait of an
	// operation that waited for them (rescue --finish, --abandon).
	ResumeFinish  = "finish"
	ResumeAbandon = "abandon"
)

// Resume is one time an operation was picked up again.
type Resume struct {
	Time time.Time `json:"time"`
	// Trigger is ResumeRestart, ResumeRecover, ResumeFinish or
	// ResumeAbandon.
	Trigger string `json:"trigger"`
	// Stopped is the journal's last write before it stopped (Updated then).
	Stopped time.Time `json:"stopped"`
	// State and Step are where it was then: its state and the step that
	// was running or compensating, if any.
	State OpState `json:"state"`
	Step  string  `json:"step,omitempty"`
}

// Active is how long the operation ran: created to updated, less the time
// it stood still.
func (op *Operation) Active() time.Duration {
	d := op.Updated.Sub(op.Created) - op.Idle
	if d < 0 {
		return 0
	}
	return d
}

// Capability names: what volctld probes on the host at start
// (docs/platform/README.md §4).
const (
	CapZfsListP        = "zfs list -p"
	CapWritten         = "zfs property written@"
	CapSnapshotVolsize = "zfs get volsize of a snapshot"
	CapZoneadmListS    = "zoneadm list -s"
	CapDeleteLUKeep    = "stmfadm delete-lu -k"
	// CapSnapshotMany: one zfs snapshot command takes several snapshots,
	// atomically (illumos, OpenZFS); Oracle Solaris answers "too many
	// arguments" (docs/platform/zfs-snapshot.md).
	CapSnapshotMany = "zfs snapshot A@S B@S"
)

// Capability is one probed feature of the host's commands.
type Capability struct {
	Name      string `json:"name"`
	Supported bool   `json:"supported"`
	// Detail says how it was decided (the probe's argv and answer), or why
	// it could not be.
	Detail string `json:"detail,omitempty"`
}

// Capabilities is the probed set, in probe order.
type Capabilities []Capability

// Has reports whether the named capability was probed and is supported.
func (c Capabilities) Has(name string) bool {
	for _, x := range c {
		if x.Name == name {
			return x.Supported
		}
	}
	return false
}

// Options are the caller's consents.
type Options struct {
	HaltZones      bool `json:"halt_zones,omitempty"`
	DestroyNewer   bool `json:"destroy_newer,omitempty"`
	KeepHostdata   bool `json:"keep_hostdata,omitempty"`
	AcceptSessions bool `json:"accept_sessions,omitempty"`
	// SkipPeers are the configured peers the caller let the capture go
	// without when they did not answer.
	SkipPeers []string `json:"skip_peers,omitempty"`
	// OnlyTheseDisks lets a rollback leave out some of the disks of a zone
	// on the volume (the caller knows they need not go back with it).
	OnlyTheseDisks bool `json:"only_these_disks,omitempty"`
	// Group are every snapshot of a group rollback (the first is the
	// operation's Snapshot); empty for one volume.
	Group []string `json:"group,omitempty"`
	// Repersist is recover's consent to delete-lu -k and import-lu an LU
	// that is online but not persisted (a brief outage).
	Repersist bool `json:"repersist,omitempty"`
	// InitializeHostdata is recover's consent to attach the kernel zones
	// of an operation with KeepHostdata with fresh host data after all
	// (the plain attach failed: the snapshot's host data will not do).
	InitializeHostdata bool `json:"initialize_hostdata,omitempty"`
	// Keep (rollback --keep, issue 22; docs/keep.md): nothing is
	// destroyed. The volume is renamed aside to Identity.Kept, a clone of
	// the snapshot takes its name and is promoted, and the LU comes back
	// on the clone with its captured identity.
	Keep bool `json:"keep,omitempty"`
	// KeptSuffix is what the engine appends to each volume's name to name
	// its kept dataset (zvol.KeptSuffix: the operation's id and creation
	// time); set by the engine before the capture of a keep rollback or an
	// undo, never by a caller.
	KeptSuffix string `json:"kept_suffix,omitempty"`
	// Undo is, for an operation of kind "undo", the operation whose swap
	// it reverses; Restore maps each of its volumes to the kept dataset
	// that takes the volume's name back (from the journal's kept records).
	Undo    uint64            `json:"undo,omitempty"`
	Restore map[string]string `json:"restore,omitempty"`
	// Forget is, for an operation of kind "forget", the operation whose
	// kept datasets it destroys (ForgetDatasets, from its kept records).
	Forget         uint64   `json:"forget,omitempty"`
	ForgetDatasets []string `json:"forget_datasets,omitempty"`
	// Rescue is, for an operation of kind "rescue" (issue 23,
	// docs/rescue.md), the zone whose boot disk is repaired and the
	// rescue zone that does it.
	Rescue *RescueOptions `json:"rescue,omitempty"`
}

// RescueOptions are a rescue's request: ZONE's boot disk is added to the
// kernel zone With as device id 0 and its root pool imported and exported
// there.
type RescueOptions struct {
	Zone string `json:"zone"`
	With string `json:"with"`
	// Shell (rescue --shell): the rescue stops, waiting, with the pool
	// imported in With under its altroot for the admin, until rescue
	// --finish (docs/rescue.md §5).
	Shell bool `json:"shell,omitempty"`
}

// Operation kinds.
const (
	KindRollback = "rollback"
	// KindUndo swaps a keep rollback's (or an undo's) kept dataset back
	// in: itself a keep (Options.Keep), so an undo can be undone.
	KindUndo = "undo"
	// KindForget destroys an operation's kept datasets.
	KindForget = "forget"
	// KindRescue repairs a kernel zone's boot disk label in a rescue
	// kernel zone (Options.Rescue, Identity.Rescue; docs/rescue.md).
	KindRescue = "rescue"
)

// Identity is what the rollback must give back unchanged: the LUs with every
// property and view, and the zones with the state they were in.
type Identity struct {
	Volume   string `json:"volume"`
	Snapshot string `json:"snapshot"`
	Volsize  uint64 `json:"volsize,omitempty"`
	// SnapshotVolsize is the volume's size at the snapshot: the size it has
	// after the rollback. 0 when the platform does not say (Solaris and
	// illumos print "-" for a snapshot's volsize): the volume's volsize is
	// then read after the rollback instead.
	SnapshotVolsize uint64   `json:"snapshot_volsize,omitempty"`
	NewerSnapshots  []string `json:"newer_snapshots,omitempty"`
	// WrittenBefore is written@snapshot before the rollback where the
	// platform has written@ (not Oracle Solaris), else the snapshot's used
	// (zfs-fuse); only the plan's "nothing changed" warning and the Linux
	// backend's evidence use it.
	WrittenBefore uint64 `json:"written_before"`
	// Unchanged is a one-volume rollback to the newest snapshot of a
	// volume written@ proved unchanged: it runs only a check, no outage
	// (zvol.ProvedUnchanged). Journals without it roll back in full.
	Unchanged bool `json:"unchanged,omitempty"`
	// HistoryRollbacks counts the `zfs rollback ... SNAPSHOT` records in
	// zpool history before the operation (HistoryKnown when it could be
	// read whole): one more afterwards proves the rollback took effect,
	// whatever else happened to the volume (docs/platform/zfs.md §7).
	HistoryRollbacks int    `json:"history_rollbacks,omitempty"`
	HistoryKnown     bool   `json:"history_known,omitempty"`
	LUs              []LU   `json:"lus,omitempty"`
	Zones            []Zone `json:"zones,omitempty"`
	// Kept is, for a keep rollback or an undo, the dataset the volume
	// (with its data and the snapshots newer than Snapshot) is renamed to:
	// Volume + Options.KeptSuffix.
	Kept string `json:"kept,omitempty"`
	// Restore is, for an undo, the kept dataset that takes the volume's
	// name back (a clone of Snapshot).
	Restore string `json:"restore,omitempty"`
	// LocalProps are the volume's local properties (zfs get -s local),
	// name to value, that the clone of a keep rollback is created with
	// (zfs clone -o); a property the clone cannot take is refused at
	// capture.
	LocalProps map[string]string `json:"local_props,omitempty"`
	// KeptUsed is what the volume used at capture (zfs used, bytes): the
	// most the kept dataset will hold.
	KeptUsed uint64 `json:"kept_used,omitempty"`
	// Rescue is, for a rescue, what its capture found (Volume is the
	// zone's boot volume).
	Rescue *Rescue `json:"rescue,omitempty"`
}

// Rescue is a rescue's capture: the two kernel zones, the zone's boot
// device, and the names the steps use (docs/rescue.md).
type Rescue struct {
	// Zone is the zone whose boot disk is repaired; With the rescue zone.
	Zone string `json:"zone"`
	With string `json:"with"`
	// Host is the peer both zones are on ("" for this host).
	Host string `json:"host,omitempty"`
	// Storage is Zone's boot device's storage URI, added to With as
	// device DeviceID.
	Storage  string `json:"storage"`
	DeviceID int    `json:"device_id"`
	// WithState is the rescue zone's state at capture ("installed": the
	// rescue boots it and halts it again).
	WithState string `json:"with_state"`
	// Pool is the name the root pool's label gives ("rpool"), PoolGUID its
	// GUID when the label was read (0: imported by name); TempName the
	// temporary name it is imported under in With, Altroot where.
	Pool     string `json:"pool"`
	PoolGUID uint64 `json:"pool_guid,omitempty"`
	TempName string `json:"temp_name"`
	Altroot  string `json:"altroot"`
	// Zpool is zpool's path inside the rescue zone.
	Zpool string `json:"zpool"`
	// Zoneadm, Zonecfg and Zlogin are those commands' paths on Host (for
	// the plan; Host's volctld runs its own).
	Zoneadm string `json:"zoneadm,omitempty"`
	Zonecfg string `json:"zonecfg,omitempty"`
	Zlogin  string `json:"zlogin,omitempty"`
}

// LU is a logical unit's captured identity.
type LU struct {
	GUID                   string            `json:"guid"`
	DataFile               string            `json:"data_file"`
	Alias                  string            `json:"alias,omitempty"`
	Size                   uint64            `json:"size,omitempty"`
	BlockSize              uint32            `json:"block_size,omitempty"`
	VendorID               string            `json:"vendor_id,omitempty"`
	ProductID              string            `json:"product_id,omitempty"`
	Serial                 string            `json:"serial,omitempty"`
	MgmtURL                string            `json:"mgmt_url,omitempty"`
	WriteProtect           bool              `json:"write_protect,omitempty"`
	WritebackCacheDisabled bool              `json:"writeback_cache_disabled,omitempty"`
	OperationalStatus      string            `json:"operational_status,omitempty"`
	Views                  []View            `json:"views,omitempty"`
	Properties             map[string]string `json:"properties,omitempty"`
	// TGT is a tgt (Linux) LU's identity; nil for a COMSTAR LU.
	TGT *TGTLU `json:"tgt,omitempty"`
}

// View is one view entry of an LU.
type View struct {
	Entry       int    `json:"entry"`
	HostGroup   string `json:"host_group"`
	TargetGroup string `json:"target_group"`
	LUN         int    `json:"lun"`
}

// Zone is a kernel zone on the volume, as it was before the rollback.
type Zone struct {
	Name    string   `json:"name"`
	State   string   `json:"state"`
	Brand   string   `json:"brand,omitempty"`
	Storage []string `json:"storage,omitempty"`
	// Aux is the auxiliary state (zoneadm list -s), e.g. "suspended".
	Aux string `json:"aux,omitempty"`
	// Host is the peer (its name in the configuration) the zone is
	// installed or running on; empty for this host.
	Host string `json:"host,omitempty"`
	// ConfiguredOn are the other peers (and "" for this host) that have
	// the zone configured but not attached (migration): they are asked
	// again before an attach -x force-takeover.
	ConfiguredOn []string `json:"configured_on,omitempty"`
	// Zoneadm is zoneadm's path on Host, for the plan's argv.
	Zoneadm string `json:"zoneadm,omitempty"`
	// BootDisks are, for a running kernel zone, its boot devices on the
	// volumes the operation rolls back: the check-boot step reads their
	// root pool labels before the zone boots (issue 23). BootUnknown says
	// why its boot devices could not be told (then it is not booted).
	// Both empty in operations journaled before them: no check-boot step.
	BootDisks   []BootDisk `json:"boot_disks,omitempty"`
	BootUnknown string     `json:"boot_unknown,omitempty"`
}

// BootDisk is one boot device of a kernel zone: its id in the zone
// (zonecfg's id: the path the zone opens it by) and the volume behind it.
type BootDisk struct {
	ID      int    `json:"id"`
	Volume  string `json:"volume"`
	Storage string `json:"storage,omitempty"`
}

// Volumes are the identities of every volume of the operation: Identity,
// then Members.
func (op *Operation) Volumes() []Identity {
	return append([]Identity{op.Identity}, op.Members...)
}

// Ran reports whether the zone was running (so it must be booted again).
func (z Zone) Ran() bool { return z.State == "running" }

// Step is one journaled step.
type Step struct {
	Name           string    `json:"name"`
	Description    string    `json:"description,omitempty"`
	State          StepState `json:"state"`
	InOutageWindow bool      `json:"in_outage_window,omitempty"`
	// Commit marks the operation's commit step (engine.Step.Commit), so
	// that the journal alone knows when the point of no return is behind:
	// the kept records (kept.go) follow it in the same transaction.
	Commit bool `json:"commit,omitempty"`
	// Planned are the commands the plan expects this step to run.
	Planned              [][]string `json:"planned,omitempty"`
	Started              time.Time  `json:"started,omitempty"`
	Finished             time.Time  `json:"finished,omitempty"`
	Commands             []Command  `json:"commands,omitempty"`
	CompensationCommands []Command  `json:"compensation_commands,omitempty"`
	Error                string     `json:"error,omitempty"`
	Attempts             int        `json:"attempts,omitempty"`
}

// Command is one platform command as it ran.
type Command struct {
	Argv     []string      `json:"argv"`
	Exit     int           `json:"exit"`
	Stdout   string        `json:"stdout,omitempty"`
	Stderr   string        `json:"stderr,omitempty"`
	Started  time.Time     `json:"started"`
	Duration time.Duration `json:"duration"`
	// Err is set when the command did not run to an exit status: not found,
	// killed at its timeout, cancelled.
	Err string `json:"err,omitempty"`
	// Host is the peer that ran the command (through its zone service);
	// empty for this host.
	Host string `json:"host,omitempty"`
}

// ZoneCall is a peer's mutating zone-service call as a zone host journals
// it: by its idempotency key, with every command it ran. Once it has
// succeeded a call with the same key returns this record and runs nothing.
type ZoneCall struct {
	Key    string `json:"key"`
	Caller string `json:"caller,omitempty"`
	Zone   string `json:"zone"`
	Verb   string `json:"verb"`
	// Args are a rescue verb's arguments (zones.Rescue.String).
	Args string `json:"args,omitempty"`
	// Done: the zone reached the wanted state (State).
	Done      bool      `json:"done,omitempty"`
	State     string    `json:"state,omitempty"`
	Error     string    `json:"error,omitempty"`
	Permanent bool      `json:"permanent,omitempty"`
	InUse     bool      `json:"in_use,omitempty"`
	Commands  []Command `json:"commands,omitempty"`
	Attempts  int       `json:"attempts"`
	Started   time.Time `json:"started"`
	Updated   time.Time `json:"updated"`
}
