package sim

import (
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode"
)

// iSCSI target ports and their sessions (State.Targets), as stmfadm
// list-target shows them; the Go API below logs initiators in and out.

// ErrNoTarget and ErrNoSession are returned by the Go API for a target or a
// session that does not exist.
var (
	ErrNoTarget  = errors.New("no such target")
	ErrNoSession = errors.New("no such session")
)

// AddTarget adds an iSCSI target port (provider iscsit, Online, no alias,
// no sessions) named iqn.
func AddTarget(root, iqn string) error {
	return Update(root, func(s *State) error {
		name, ok := deviceID(iqn)
		if !ok || !strings.HasPrefix(name, "iqn.") {
			return fmt.Errorf("add target %q: not an iSCSI name", iqn)
		}
		if s.Target(name) != nil {
			return fmt.Errorf("add target %s: already exists", name)
		}
		s.Targets = append(s.Targets, &Target{Name: name})
		return nil
	})
}

// AddSession logs initiator (with its alias, "" for none) in to target, now.
// The initiator must not have a session with that target already.
func AddSession(root, target, initiator, alias string) error {
	return Update(root, func(s *State) error {
		t := s.Target(target)
		if t == nil {
			return fmt.Errorf("add session to %s: %w", target, ErrNoTarget)
		}
		ini, ok := deviceID(initiator)
		if !ok {
			return fmt.Errorf("add session to %s: %q is not an initiator name", target, initiator)
		}
		if t.session(ini) >= 0 {
			return fmt.Errorf("add session to %s: %s is already logged in", target, ini)
		}
		t.Sessions = append(t.Sessions, &Session{Initiator: ini, Alias: alias, Since: time.Now().Unix()})
		return nil
	})
}

// RemoveSession logs initiator out of target.
func RemoveSession(root, target, initiator string) error {
	return Update(root, func(s *State) error {
		t := s.Target(target)
		if t == nil {
			return fmt.Errorf("remove session from %s: %w", target, ErrNoTarget)
		}
		ini, _ := deviceID(initiator)
		i := t.session(ini)
		if i < 0 {
			return fmt.Errorf("remove session of %s from %s: %w", initiator, target, ErrNoSession)
		}
		t.Sessions = append(t.Sessions[:i:i], t.Sessions[i+1:]...)
		return nil
	})
}

// session returns the index of the initiator's session (ini normalised by
// deviceID), or -1.
func (t *Target) session(ini string) int {
	for i, se := range t.Sessions {
		if id, ok := deviceID(se.Initiator); ok && id == ini {
			return i
		}
	}
	return -1
}

// parseDevid is stmfadm.c parseDevid (checkScsiNameString): the prefix
// iqn., wwn. or eui. must be lower case; an iqn. name (at most 223 bytes,
// then letters, digits, '-', '.' and ':') is lowercased, the 16 hex digits
// of a wwn. or eui. name uppercased. (deviceID, which add-hg-member and
// friends use, also accepts an upper-case prefix.)
func parseDevid(m string) (string, bool) {
	switch {
	case strings.HasPrefix(m, "iqn."):
		if len(m) > 223 {
			return "", false
		}
		for _, c := range m[4:] {
			if !unicode.IsLetter(c) && !unicode.IsDigit(c) && c != '-' && c != '.' && c != ':' {
				return "", false
			}
		}
		return strings.ToLower(m), true
	case strings.HasPrefix(m, "wwn."), strings.HasPrefix(m, "eui."):
		if len(m) != 20 || !isHex(m[4:]) {
			return "", false
		}
		return m[:4] + strings.ToUpper(m[4:]), true
	}
	return "", false
}

// targetByDevid returns the target whose name is the device id id (as
// parseDevid returns it), or nil.
func (s *State) targetByDevid(id string) *Target {
	for _, t := range s.Targets {
		if n, ok := deviceID(t.Name); ok && n == id {
			return t
		}
	}
	return nil
}
