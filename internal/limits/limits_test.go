package limits

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	cases := []struct {
		in   string
		want int64
	}{
		{"100000000", 100000000},
		{"6GiB", 6 << 30},
		{"6gib", 6 << 30},
		{"512MiB", 512 << 20},
		{"512m", 512 << 20},
		{"1.5G", 3 << 29},
		{"2GB", 2e9},
		{" 64 KiB ", 64 << 10},
		{"1TiB", 1 << 40},
		{"7B", 7},
	}
	for _, c := range cases {
		got, err := Parse(c.in)
		if err != nil || got != c.want {
			t.Errorf("Parse(%q) = %d, %v; want %d", c.in, got, err, c.want)
		}
	}
	for _, bad := range []string{"", "0", "-1GiB", "lots", "GiB", "NaN", "Inf", "1e30TiB", "0.1B"} {
		if got, err := Parse(bad); err == nil {
			t.Errorf("Parse(%q) = %d; want an error", bad, got)
		}
	}
}

func TestFormatParsesBack(t *testing.T) {
	for _, n := range []int64{1, 1023, 1 << 10, 1536, 64 << 20, 6 << 30, 3 << 29, 2 << 40} {
		s := Format(n)
		back, err := Parse(s)
		if err != nil {
			t.Fatalf("Parse(Format(%d) = %q): %v", n, s, err)
		}
		if d := math.Abs(float64(back-n)) / float64(n); d > 0.05 {
			t.Errorf("Parse(Format(%d) = %q) = %d; want within 5%%", n, s, back)
		}
	}
}

func TestCheck(t *testing.T) {
	defer Set(1 << 20)()
	cases := []struct {
		name          string
		count, size   int64
		wantErr       bool
		wantInMessage string
	}{
		{"fits", 1 << 18, 4, false, ""},
		{"one over", 1<<18 + 1, 4, true, "needs 1.0MiB, larger than xfer's memory ceiling of 1MiB (set XFER_MAX_MEMORY to raise it, e.g. XFER_MAX_MEMORY=1GiB)"},
		{"overflow", math.MaxInt64, 8, true, "needs more than 2^64"},
		{"negative", -1, 4, true, "negative"},
	}
	for _, c := range cases {
		err := Check("dataset /w", c.count, c.size)
		if (err != nil) != c.wantErr {
			t.Errorf("%s: Check = %v; want error %v", c.name, err, c.wantErr)
			continue
		}
		if err != nil {
			if !errors.Is(err, ErrTooLarge) {
				t.Errorf("%s: %v does not wrap ErrTooLarge", c.name, err)
			}
			if !strings.Contains(err.Error(), c.wantInMessage) || !strings.HasPrefix(err.Error(), "dataset /w") {
				t.Errorf("%s: error %q; want it to start with the name and contain %q", c.name, err, c.wantInMessage)
			}
		}
	}
}

func TestCount(t *testing.T) {
	cases := []struct {
		dims    []int64
		want    int64
		wantErr string
	}{
		{[]int64{1000, 1000}, 1000000, ""},
		{[]int64{}, 1, ""},
		{[]int64{0, 1 << 62, 1 << 62}, 0, ""}, // zero elements, whatever the rest
		{[]int64{1 << 62, 1 << 62, 0}, 0, ""},
		{[]int64{100000, 100000}, 1e10, ""},
		{[]int64{1 << 40, 1 << 40}, 0, "overflows"},
		{[]int64{1 << 32, 1 << 31}, 0, "overflows"}, // 2^63: past int64
		{[]int64{3, -2}, 0, "negative"},
	}
	for _, c := range cases {
		got, err := Count("tensor w", c.dims)
		msg := ""
		if err != nil {
			msg = err.Error()
		}
		if got != c.want || (c.wantErr == "") != (err == nil) || !strings.Contains(msg, c.wantErr) {
			t.Errorf("Count(%v) = %d, %v; want %d and an error containing %q", c.dims, got, err, c.want, c.wantErr)
		}
	}
}

func TestDefault(t *testing.T) {
	d := defaultBytes()
	if d < minDefault {
		t.Errorf("defaultBytes() = %d; want at least %d", d, minDefault)
	}
	if p := physical(); p > 0 && d > max(p/4, minDefault) {
		t.Errorf("defaultBytes() = %s; want at most a quarter of physical memory %s", Format(d), Format(p))
	}
}

func TestParseEnv(t *testing.T) {
	if n, err := parseEnv("2GiB"); err != nil || n != 2<<30 {
		t.Errorf("parseEnv(2GiB) = %d, %v", n, err)
	}
	n, err := parseEnv("two gigs")
	if err == nil || !strings.Contains(err.Error(), "XFER_MAX_MEMORY") || n != defaultBytes() {
		t.Errorf("parseEnv(bad) = %d, %v; want the default and an error naming XFER_MAX_MEMORY", n, err)
	}
}

func ExampleCheck() {
	defer Set(1 << 30)()
	fmt.Println(Check("dataset /dense/kernel", 100000*100000, 4))
	// Output: dataset /dense/kernel needs 37.3GiB, larger than xfer's memory ceiling of 1GiB (set XFER_MAX_MEMORY to raise it, e.g. XFER_MAX_MEMORY=38GiB)
}
