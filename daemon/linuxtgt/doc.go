// Package linuxtgt is the Linux backend: ZFS (OpenZFS, or zfs-fuse 0.7)
// exported over iSCSI by tgt (tgtd, tgtadm). A volume is a zvol
// (/dev/zvol/POOL/VOL, OpenZFS) or a filesystem dataset whose files back
// LUs (zfs-fuse has no zvols); the rollback target is that dataset's
// snapshot. It captures every LU on the volume with its identity and its
// target's initiator bindings, and builds the rollback saga from the zfs
// and tgt adapters.
//
// The saga, and why each step is where it is (docs/platform/linux-tgt.md
// §10; linux-tgt.md below).
// Without LUs only rollback and verify run.
//
//	unbind-initiators  remove every ACL rule of the LUs' targets (and, with
//	                   consent, drop their connections), so that no initiator
//	                   can log in and see an LU without its identity: tgtd
//	                   creates LUs with a default identity (linux-tgt.md
//	                   §4.1, §4.3).
//	                   Undo: bind the captured rules back and read them back.
//	delete-lu          [window] delete the LUs: tgtd closes the backing files,
//	                   so the rollback does not change data under an open LU
//	                   (linux-tgt.md §9.1).
//	                   Undo: re-create each LU and restore its identity.
//	rollback           [window] zfs rollback (the commit, the point of no
//	                   return), once tgtd shows no LU on the volume; then read
//	                   back, while no LU serves the volume, that it took
//	                   effect (no newer snapshot left; written@ 0, or the
//	                   snapshot's used 0 on zfs-fuse): one that exited 0 and
//	                   did not is ErrNotCommitted, as in the Solaris verify,
//	                   and the saga compensates backwards. No undo.
//	create-lu          [window] re-create each LU with the same tid, LUN and
//	                   backing store
//	restore-identity   [window] --op update --params scsi_id,scsi_sn,... and
//	                   read back
//	rebind-initiators  [window] only now give the ACL back. The window ends
//	                   here.
//	verify             each LU's identity and its target's bindings
//
// Before the rollback a failure runs the undos backwards; after it the
// engine rolls forward (retrying), and the steps after it have no undo.
// [window] marks the outage window, from delete-lu until rebind-initiators
// is done.
//
// A rollback that keeps what it replaces (Options.Keep; docs/keep.md,
// linux-tgt.md §11) replaces the rollback step with zvol's shared zfs
// steps, each wrapped for zfs-fuse (unmount before, "dataset is busy"
// retried, mount after: §11.1):
//
//	unbind-initiators, delete-lu   as above
//	set-aside          [window] zfs umount V, zfs rename V KEPT, zfs mount
//	                   KEPT, once tgtd shows no LU on V. Undo: back.
//	clone              [window] zfs clone -o (V's local properties) KEPT@S V,
//	                   mounted where V was. Undo: destroy that clone.
//	bring-back         (undo, in place of clone) RESTORE back to V's name.
//	promote            [window] the commit: KEPT becomes a clone of V@S.
//	create-lu, restore-identity, rebind-initiators, verify   as above, on
//	                   the same backing path; a failure names KEPT
//	mark-kept          zfs set volctl:kept=... KEPT
//
// A forget is one step, destroy-kept (the commit): each kept dataset's
// mark read, no LU on it, unmounted, zfs destroy -r.
package linuxtgt
