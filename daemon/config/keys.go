package config

import (
	"encoding"
	"fmt"
	"reflect"
	"strings"

	"github.com/BurntSushi/toml"
)

// checkKeys checks every key the file sets against Config's toml tags, in
// exact case. BurntSushi/toml matches keys to fields case-insensitively, so
// SOCKET_MODE would silently set (or, next to socket_mode, override)
// socket_mode; and its Undecoded() lists only the keys no field took. One
// error per key, reported once per wrong table.
func checkKeys(md toml.MetaData) []error {
	var errs []error
	reported := map[string]bool{}
	for _, key := range md.Keys() {
		bad, err := checkKey(reflect.TypeOf(Config{}), key)
		if err == nil || reported[bad] {
			continue
		}
		reported[bad] = true
		errs = append(errs, err)
	}
	// Anything the walk above let through that no field took.
	for _, key := range md.Undecoded() {
		if !reported[key.String()] {
			reported[key.String()] = true
			errs = append(errs, fmt.Errorf("unknown key %s", key))
		}
	}
	return errs
}

var textUnmarshaler = reflect.TypeOf((*encoding.TextUnmarshaler)(nil)).Elem()

// checkKey walks key down typ. It returns the shortest wrong prefix of key
// (as a string) and what is wrong with it.
func checkKey(typ reflect.Type, key toml.Key) (string, error) {
	for i, name := range key {
		prefix := key[:i+1].String()
		switch {
		case typ.Kind() == reflect.Map:
			// Any name (the values are checked by Validate); below it,
			// the map's values.
			typ = typ.Elem()
			continue
		case typ.Kind() == reflect.Slice && typ.Elem().Kind() == reflect.Struct:
			// An array of tables ([[peers]]): its elements' keys.
			typ = typ.Elem()
		}
		switch {
		case typ.Kind() != reflect.Struct || reflect.PointerTo(typ).Implements(textUnmarshaler):
			return prefix, fmt.Errorf("unknown key %s", prefix)
		}
		var want string
		var next reflect.Type
		for j := 0; j < typ.NumField(); j++ {
			f := typ.Field(j)
			tag := strings.Split(f.Tag.Get("toml"), ",")[0]
			if tag == name {
				want, next = "", f.Type
				break
			}
			if strings.EqualFold(tag, name) {
				want, next = tag, f.Type
			}
		}
		switch {
		case next == nil:
			if near := nearestTag(typ, name); near != "" {
				fixed := append(toml.Key{}, key[:i]...)
				return prefix, fmt.Errorf("unknown key %s; did you mean %s?", prefix, append(fixed, near))
			}
			return prefix, fmt.Errorf("unknown key %s", prefix)
		case want != "":
			fixed := append(toml.Key{}, key[:i]...)
			return prefix, fmt.Errorf("key %s: keys are case-sensitive; did you mean %s?", prefix, append(fixed, want))
		}
		typ = next
	}
	return "", nil
}

// nearestTag is the toml tag of typ's fields closest to name, a typo away
// (one edit for a name under 5 characters, two otherwise: a letter left
// out, added, changed or two swapped), or "" when none is.
func nearestTag(typ reflect.Type, name string) string {
	limit := 1
	if len(name) >= 5 {
		limit = 2
	}
	best, bestD := "", limit+1
	for j := 0; j < typ.NumField(); j++ {
		tag := strings.Split(typ.Field(j).Tag.Get("toml"), ",")[0]
		if tag == "" || tag == "-" {
			continue
		}
		if d := editDistance(strings.ToLower(name), tag); d < bestD {
			best, bestD = tag, d
		}
	}
	return best
}

// editDistance is the optimal string alignment distance of a and b: the
// insertions, deletions, substitutions and swaps of adjacent bytes that
// make one the other, none applied twice to the same place.
func editDistance(a, b string) int {
	// d[i][j] is the distance of a[:i] and b[:j].
	d := make([][]int, len(a)+1)
	for i := range d {
		d[i] = make([]int, len(b)+1)
		d[i][0] = i
	}
	for j := range d[0] {
		d[0][j] = j
	}
	for i := 1; i <= len(a); i++ {
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(a)][len(b)]
}
