package comstar

import (
	"errors"
	"strings"
	"testing"
)

func TestValidateGUID(t *testing.T) {
	for _, tc := range []struct {
		in string
		ok bool
	}{
		{"600144F04DCD4B000000571EF1B00001", true},
		{"600144f04dcd4b000000571ef1b00001", true},
		{"600144F0XXXXXXXXXXXXXXXXXXXXXXXX", false},
		{"600144F04DCD4B000000571EF1B0000", false},
		{"600144F04DCD4B000000571EF1B000011", false},
		{" 600144F04DCD4B000000571EF1B0001", false},
		{"", false},
	} {
		err := ValidateGUID(tc.in)
		if (err == nil) != tc.ok || (err != nil && !errors.Is(err, ErrInvalid)) {
			t.Errorf("ValidateGUID(%q) = %v, want ok=%v", tc.in, err, tc.ok)
		}
	}
	if got := NormalizeGUID("600144f04dcd4b000000571ef1b0000a"); got != "600144F04DCD4B000000571EF1B0000A" {
		t.Errorf("NormalizeGUID = %q", got)
	}
}

func TestValidateGroupName(t *testing.T) {
	for _, tc := range []struct {
		in string
		ok bool
	}{
		{"hg1", true},
		{"esx.cluster-a_01", true},
		{"iqn.1998-01.com.vmware:esx1", true},
		{"a@b+c=d,e%f/g", true},
		{strings.Repeat("g", 255), true},
		{strings.Repeat("g", 256), false},
		{"", false},
		{"All", false},
		{"all", true},
		{"-h", false},
		{"hg 1", false},
		{"hg\t1", false},
		{"hg\n", false},
		{"hg\x00", false},
		{"grüppe", false},
		{"hg;rm", false},
		{"hg|tg", false},
		{"$(x)", false},
		{"`x`", false},
		{"a'b", false},
		{"a\"b", false},
		{"a*", false},
	} {
		err := ValidateGroupName(tc.in)
		if (err == nil) != tc.ok || (err != nil && !errors.Is(err, ErrInvalid)) {
			t.Errorf("ValidateGroupName(%q) = %v, want ok=%v", tc.in, err, tc.ok)
		}
	}
}
