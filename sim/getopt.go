package sim

import "strings"

// opt is one parsed option; arg is empty for flags.
type opt struct {
	c   byte
	arg string
}

// getoptError says which option letter was wrong and how.
type getoptError struct {
	c       byte
	missing bool // option needs an argument that is not there
}

// getopt parses POSIX-style short options like Solaris getopt(3C): clustered
// flags (-cp), "x:" letters take an argument (attached or next word), and
// parsing stops at the first operand or after "--".
func getopt(args []string, optstring string) ([]opt, []string, *getoptError) {
	var opts []opt
	i := 0
	for ; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			i++
			break
		}
		if len(a) < 2 || a[0] != '-' {
			break
		}
		for j := 1; j < len(a); j++ {
			c := a[j]
			k := strings.IndexByte(optstring, c)
			if k < 0 || c == ':' {
				return nil, nil, &getoptError{c: c}
			}
			if k+1 < len(optstring) && optstring[k+1] == ':' {
				if j+1 < len(a) {
					opts = append(opts, opt{c, a[j+1:]})
				} else if i+1 < len(args) {
					i++
					opts = append(opts, opt{c, args[i]})
				} else {
					return nil, nil, &getoptError{c: c, missing: true}
				}
				break
			}
			opts = append(opts, opt{c: c})
		}
	}
	return opts, args[i:], nil
}

func hasOpt(opts []opt, c byte) bool {
	for _, o := range opts {
		if o.c == c {
			return true
		}
	}
	return false
}

// lastOpt returns the last argument given for c ("" if none).
func lastOpt(opts []opt, c byte) (string, bool) {
	v, ok := "", false
	for _, o := range opts {
		if o.c == c {
			v, ok = o.arg, true
		}
	}
	return v, ok
}
