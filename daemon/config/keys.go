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
			return prefix, fmt.Errorf("unknown key %s", prefix)
		case want != "":
			fixed := append(toml.Key{}, key[:i]...)
			return prefix, fmt.Errorf("key %s: keys are case-sensitive; did you mean %s?", prefix, append(fixed, want))
		}
		typ = next
	}
	return "", nil
}
