package daemon_test

import (
	"bufio"
	"errors"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/volctl/volctl/sim/simtest"
)

// memberInEtcGroup finds a user that /etc/group lists as a member of a
// group other than its primary one.
func memberInEtcGroup(t *testing.T) (u *user.User, g *user.Group) {
	t.Helper()
	f, err := os.Open("/etc/group")
	if err != nil {
		t.Skipf("SKIP (loud): no /etc/group: %v", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Split(sc.Text(), ":")
		if len(fields) != 4 || fields[3] == "" {
			continue
		}
		for _, m := range strings.Split(fields[3], ",") {
			mu, err := user.Lookup(m)
			if err != nil || mu.Gid == fields[2] || mu.Uid == "0" {
				continue
			}
			return mu, &user.Group{Name: fields[0], Gid: fields[2]}
		}
	}
	t.Skip("SKIP (loud): no user is listed as a member of a group in /etc/group here")
	return nil, nil
}

// runWithGroups runs volctl as uid with primary gid and supplementary
// groups, as the kernel will report them to the daemon.
func runWithGroups(t *testing.T, uid, gid int, groups []uint32, socket string, args ...string) (int, string) {
	t.Helper()
	bin := simtest.Build(t)
	cmd := exec.Command(filepath.Join(bin, "volctl"), append([]string{"--socket", socket}, args...)...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid), Groups: groups}}
	cmd.Dir = "/"
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode(), string(out)
	}
	if err != nil {
		t.Fatal(err)
	}
	return 0, string(out)
}

// TestGroupRolesComeFromTheKernel: a role's group counts only when the
// kernel reports it as the caller's group, never from /etc/group (issue:
// a caller whose process had dropped the group still got the role).
func TestGroupRolesComeFromTheKernel(t *testing.T) {
	needRoot(t)
	u, g := memberInEtcGroup(t)
	uid, _ := strconv.Atoi(u.Uid)
	primary, _ := strconv.Atoi(u.Gid)
	gid, _ := strconv.Atoi(g.Gid)
	root := simtest.Host(t)
	if err := os.Chmod(simtest.Build(t), 0o755); err != nil {
		t.Fatal(err)
	}
	cfg, sock := writeConfigWith(t, root, `socket_mode = "0666"`, "[roles]\noperator_uids = [0]\nviewer_groups = ["+strconv.Quote(g.Name)+"]\n")
	if err := os.Chmod(filepath.Dir(sock), 0o755); err != nil {
		t.Fatal(err)
	}
	startDaemon(t, cfg, sock)

	// Listed in /etc/group, but the process does not hold the group.
	if code, out := runWithGroups(t, uid, primary, []uint32{}, sock, "ls"); code != 7 {
		t.Errorf("%s without group %s in its credentials: exit %d, want 7 (denied)\n%s", u.Username, g.Name, code, out)
	}
	// The group as the process's effective group: the role applies.
	if code, out := runWithGroups(t, uid, gid, []uint32{}, sock, "ls"); code != 0 {
		t.Errorf("%s with primary group %s: exit %d, want 0\n%s", u.Username, g.Name, code, out)
	}
}
