package zfs

import (
	"strings"
	"testing"
)

// The get output below is literal zfs-fuse 0.7 output (docs/platform/zfs.md
// §6.1, §9.1), recorded with
// `zfs get -H -p -d 1 -o name,property,value,source`.
const fuseGet = "expool/fs\ttype\tfilesystem\t-\n" +
	"expool/fs\tcreation\t1795742293\t-\n" +
	"expool/fs\tused\t245760\t-\n" +
	"expool/fs\treferenced\t245760\t-\n" +
	"expool/fs\tvolsize\t-\t-\n" +
	"expool/fs\tmountpoint\t/tmp/exp/mnt/fs\tinherited from expool\n" +
	"expool/fs\tcreatetxg\t7\t-\n" +
	"expool/fs\tuserrefs\t-\t-\n" +
	"expool/fs@s2\ttype\tsnapshot\t-\n" +
	"expool/fs@s2\tcreatetxg\t20\t-\n" +
	"expool/fs@s1\ttype\tsnapshot\t-\n" +
	"expool/fs@s1\tcreation\t1795742328\t-\n" +
	"expool/fs@s1\tused\t0\t-\n" +
	"expool/fs@s1\tcreatetxg\t13\t-\n" +
	"expool/fs@s1\tuserrefs\t1\t-\n" +
	"expool/fs/child@x\ttype\tsnapshot\t-\n"

func TestInfosFromProps(t *testing.T) {
	props, err := ParseGet([]byte(fuseGet))
	if err != nil {
		t.Fatal(err)
	}
	infos, err := InfosFromProps(props)
	if err != nil {
		t.Fatal(err)
	}
	if len(infos) != 4 || infos[0].Mountpoint != "/tmp/exp/mnt/fs" || infos[0].Volsize != 0 || infos[0].CreateTxg != 7 {
		t.Fatalf("%+v", infos)
	}
	snaps := SnapshotsOf(infos, "expool/fs")
	if len(snaps) != 2 || snaps[0].Name != "expool/fs@s1" || snaps[1].Name != "expool/fs@s2" || snaps[0].Userrefs != 1 {
		t.Fatalf("snapshots %+v", snaps)
	}
	for _, bad := range []string{
		"a\tused\t32.8M\t-\na\ttype\tfilesystem\t-\n",
		"a\tused\t1\t-\n",
	} {
		props, err := ParseGet([]byte(bad))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := InfosFromProps(props); err == nil {
			t.Errorf("accepted %q", bad)
		}
	}
}

func TestCompatClassifiers(t *testing.T) {
	if !IsBadProperty([]byte("bad property list: invalid property 'written@snap1'\nusage:")) {
		t.Error("IsBadProperty")
	}
	if !IsInvalidOption([]byte("invalid option 'p'\nusage:")) {
		t.Error("IsInvalidOption")
	}
	a := Cmd{Path: "/usr/sbin/zfs"}.InfosArgv(1, "tank/fs")
	if got := strings.Join(a, " "); got != "/usr/sbin/zfs get -H -p -d 1 -o name,property,value,source type,creation,used,referenced,volsize,mountpoint,createtxg,userrefs tank/fs" {
		t.Errorf("argv %s", got)
	}
}
