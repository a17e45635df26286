//go:build !linux

package execx

// awaitExit: Wait blocks as it always did (exitwait_linux.go says why
// Linux waits otherwise).
func awaitExit(int) {}
