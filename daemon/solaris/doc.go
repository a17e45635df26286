// Package solaris is the Oracle Solaris 11.4 / illumos backend: zvols
// exported by COMSTAR (stmfadm) and used by kernel zones. It captures a
// volume's export identity (its LUs with their views, and the zones whose
// storage is on it) and builds the rollback saga from the zfs, comstar and
// kz adapters. The capture reads the host (capture.go) and then decides,
// running nothing, what needs consent, what is refused and what to warn of
// (assess.go). Steps (steps.go) builds the table below; each step's code
// is in steps_zones.go, steps_lu.go, steps_rollback.go or steps_verify.go.
//
// The saga, and why each step is where it is (docs/platform/comstar.md §10,
// docs/platform/zones.md §9, docs/design.md). Steps whose subject is absent
// are left out: no zone steps without zones, no LU steps without LUs.
//
//	stop-zones     shut down the running zones on the volume (halt one whose
//	               shutdown fails or outlasts ShutdownTimeout): a guest must
//	               not write to a disk that goes back under it.
//	               Undo: boot them again.
//	detach-zones   detach the zones that were installed or running, so that
//	               nothing uses the disk while it goes back.
//	               Undo: a plain attach (the disk's host data is unchanged).
//	delete-lu      [window] stmfadm delete-lu -k: the views stay; sbd holds
//	               the zvol open while an LU is registered, so the rollback
//	               would be "busy" (comstar.md §8.3). No read-back here:
//	               the rollback's "busy" is the proof that an LU did not go.
//	               Retried (the engine's policy) unless "resource busy": a
//	               failed delete-lu may have dropped the LU from STMF's store
//	               (docs/platform/comstar-delete-lu.md).
//	               Undo: import the LU again (create-lu from the capture if
//	               its metadata is gone), add back missing views and read
//	               both back; an LU a failed delete-lu may have dropped from
//	               STMF's store is re-persisted at once (delete-lu -k,
//	               import-lu), except one held busy: that waits for recover
//	               --repersist, and the operation needs attention
//	               (ErrUnpersisted).
//	rollback       [window] zfs rollback [-r]: the commit, the point of no
//	               return. Its exit status decides; when that says nothing
//	               (an unexplained failure, killed at its deadline, a
//	               crash), a new record in zpool history (and,
//	               where the host has written@ and the LUs are away,
//	               written@ 0) says whether it took effect. A refusal zfs
//	               explains (busy, newer snapshots, no such dataset) is
//	               final. No undo.
//	finish-rollback [window, groups only] after a group's rollback step,
//	               whose Check says whether any volume took effect: roll
//	               back every volume not at its snapshot yet (its own exit
//	               0, else zpool history tells), forward only; what cannot
//	               be finished is reported volume by volume. Park (failed
//	               for good): every LU of the group back, persisted and
//	               verified, the zones left detached, the attention saying
//	               which volume is where; run again (recover), it deletes
//	               the LUs of the volumes it still has to roll back first.
//	import-lu      [window] import-lu from the metadata kept in the zvol
//	               (create-lu with the captured GUID and properties when it
//	               is gone, unless create-lu cannot carry a value exactly:
//	               then it stops, permanently); the retained views apply
//	               again. Then list-lu -v until the LU is in its captured
//	               operational state (it shows Onlining first), at most
//	               LUOnlineTimeout: online-lu where the host starts new LUs
//	               Offline, offline-lu for an LU that was Offline (lus.go).
//	               The window ends here.
//	restore-views  add exactly the captured views that are missing; adding
//	               one extends the outage to now.
//	resize-lu      shrink an LU that would end past the rolled-back volume
//	               (only when the snapshot's volsize is unknown, or smaller
//	               than an LU).
//	verify         each LU's identity and views as captured (size at most
//	               the volume's), and no newer snapshot left: one left means
//	               the rollback did not take effect (ErrNotCommitted), and
//	               the saga compensates backwards instead.
//	attach-zones   attach the zones again, with fresh host data
//	               (-x initialize-hostdata for kernel zones) unless
//	               --keep-hostdata (and, if that attach fails, recover
//	               --initialize-hostdata does it after all).
//	check-boot     [running kernel zones whose boot disk goes back] read
//	               each boot disk's root pool label, read-only: its
//	               phys_path must be the zone's /zvnex/zvblk@ID:SLICE. A
//	               wrong or unreadable label stops here, permanently: the
//	               zone stays attached and is not booted, and the attention
//	               names the path and volctl rescue (bootcheck.go,
//	               docs/platform/kz-boot-path.md §5). No undo: it reads.
//	boot-zones     boot the zones that were running.
//
// Keeping what the rollback replaces (--keep, docs/keep.md): nothing is
// destroyed. The capture also names each volume's kept dataset KEPT
// (zvol.KeptName: free, and every snapshot fits under it), reads the
// volume's local properties for its clone (zvol.CloneProps: volsize,
// volblocksize, stmf_sbd_lu and volctl:* are not copied; a property a
// clone cannot take is refused) and refuses an LU create-lu cannot carry
// exactly (the clone has no LU metadata to import). No --destroy-newer:
// the newer snapshots go to KEPT. The steps (steps_keep.go; the zfs ones
// are zvol's, keepsteps.go, shared with the Linux backend), each of which
// reads the datasets' origins first and runs again safely:
//
//	stop-zones, detach-zones, delete-lu   as above; delete-lu's undo brings
//	               the LU back only once the volume is itself again (not
//	               onto the clone, nor onto nothing).
//	set-aside      [window] zfs rename V KEPT: the data and every snapshot.
//	               Undo: zfs rename KEPT V, only when V does not exist.
//	clone          [window] zfs clone -o p=v.. KEPT@S V, the volume's local
//	               properties. Undo: zfs destroy V (no -r), only when V is
//	               a clone of KEPT@S carrying no kept mark.
//	bring-back     [window] an undo's, in clone's place: zfs rename RESTORE
//	               V (the kept dataset of the operation undone). Undo: zfs
//	               rename V RESTORE.
//	promote        [window] zfs promote V: the commit. V takes the snapshots
//	               up to S; KEPT keeps the newer ones and the data from
//	               before. Check: KEPT's origin is V@S (for a group: any
//	               volume's).
//	finish-promote [window, groups only] promote every volume not promoted
//	               yet, forward only.
//	create-lu      [window] stmfadm create-lu -p guid=G with every captured
//	               property on /dev/zvol/rdsk/V, never import-lu (import-lu
//	               on a clone could find stale metadata in the volume's
//	               data); then settle as import-lu does. The window ends.
//	restore-views, resize-lu   as above; create-lu gives the LU the whole
//	               clone, so resize-lu gives it its captured size back.
//	verify         each LU as captured; the volume promoted, owning S, and
//	               every newer snapshot in KEPT.
//	mark-kept      zfs set volctl:kept=MARK KEPT (zvol.KeptMark); an undo
//	               also clears the mark on the volume (zfs inherit), which
//	               was a kept dataset.
//	attach-zones, boot-zones   as above.
//
// A failure before promote undoes back to the capture exactly (V is V
// again with all its snapshots, its LU back with its GUID and views,
// persisted); past it, the saga goes forward, and a failure says where
// each volume is and where its data from before is kept. A forget is one
// step, destroy-kept (the commit, no undo: zfs destroy -r KEPT after
// reading its mark, refused unless the mark names the operation forgotten;
// Check: the dataset is gone); its capture checks only that each dataset
// exists and carries the mark.
//
// Zones on other hosts. The LU may be used by kernel zones on zone hosts,
// each with its own volctld (Peers, daemon/peers over mutual TLS). The
// capture asks every peer at once, within its deadline, which of its zones
// name the LU (by GUID, or by a target and LUN the LU has there; a peer
// that does not answer stops the rollback unless --skip-peer), and reads
// who is logged in (stmfadm list-target -v, list-hg -v, list-tg -v): an
// initiator that can see the LU and is not one of a host whose zones on it
// are detached refuses the rollback unless --accept-sessions (fabric.go).
// A zone configured on several hosts is acted on where it is attached;
// suspended or migrating anywhere, it is refused. The zone steps above run
// on the zone's host: there through the peer's zone service (ZoneAction,
// journaled on the peer by an idempotency key of this host, the operation,
// the step, the zone and the verb), whose commands are journaled here
// naming the peer. attach-zones takes a zone over (-x force-takeover) only
// when the disk's host data names another host and every other host that
// has the zone configured reports it not running.
//
// Groups (several volumes, e.g. a zone's disks: op.Members): one saga, the
// zone steps once, every LU's delete-lu, the volumes' rollbacks and every
// import-lu side by side (groupParallel at most); resize-lu and verify per
// volume. A rollback that leaves out another disk of a zone on the volume
// needs --only-these-disks (disks.go).
//
// Before the rollback a failure runs the undos backwards; after it the
// engine rolls forward (retrying), and the steps after it have no undo.
// [window] marks the outage window: the LUs are away from delete-lu until
// import-lu is done.
package solaris
