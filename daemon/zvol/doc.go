// Package zvol is the ZFS side of a rollback, which both backends share: a
// volume looked up by name, its snapshots (listed, created, destroyed, and
// the one to roll back to with the newer ones the rollback destroys), and
// the rollback itself with the evidence of whether it took effect.
//
// A zvol is a ZFS volume used as a block device. zfs-fuse has none, so the
// Linux backend also exports the files of a filesystem dataset; what is
// here serves it too. It builds on the zfs adapter (argv and parsers) and
// speaks the engine's types and sentinels, so that each backend keeps only
// its export side: COMSTAR and zones, or tgt. The argv it runs is the zfs
// adapter's, given the zfs.Cmd the backend built from the host's probed
// capabilities.
package zvol
