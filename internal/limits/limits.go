package limits

import (
	"errors"
	"fmt"
	"math"
	"math/bits"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
)

// EnvVar names the environment variable that sets the ceiling.
const EnvVar = "XFER_MAX_MEMORY"

// minDefault is the smallest default ceiling (64 MiB), for machines that
// report little or no memory.
const minDefault = 64 << 20

// ErrTooLarge reports a declared size above the ceiling.
var ErrTooLarge = errors.New("larger than xfer's memory ceiling")

var (
	override atomic.Int64 // set by Set; 0 when unset
	fromEnv  = sync.OnceValues(func() (int64, error) { return parseEnv(os.Getenv(EnvVar)) })
)

func parseEnv(s string) (int64, error) {
	if s == "" {
		return defaultBytes(), nil
	}
	n, err := Parse(s)
	if err != nil {
		return defaultBytes(), fmt.Errorf("limits: %s=%q: %w", EnvVar, s, err)
	}
	return n, nil
}

// defaultBytes is a quarter of physical memory, or of the address-space
// limit when that is lower, and at least minDefault.
func defaultBytes() int64 {
	m := physical()
	if as := addressSpace(); as > 0 && (m == 0 || as < m) {
		m = as
	}
	return max(m/4, minDefault)
}

// Bytes returns the ceiling in bytes. An invalid XFER_MAX_MEMORY leaves the
// default in force; Env reports it.
func Bytes() int64 {
	if n := override.Load(); n > 0 {
		return n
	}
	n, _ := fromEnv()
	return n
}

// Env reports an XFER_MAX_MEMORY that does not parse. Commands call it at
// start-up so that a typo is a usage error rather than a silent default.
func Env() error {
	_, err := fromEnv()
	return err
}

// Set replaces the ceiling (n > 0) until the returned function restores the
// previous one. It is meant for tests and for embedding programs.
func Set(n int64) (restore func()) {
	if n <= 0 {
		panic("limits: Set with a non-positive ceiling")
	}
	prev := override.Swap(n)
	return func() { override.Store(prev) }
}

// Check returns nil when count elements of elemSize bytes fit the ceiling,
// and otherwise an error wrapping ErrTooLarge that names what and says how
// to raise the ceiling. Negative counts and products that overflow are
// refused too.
func Check(what string, count, elemSize int64) error {
	if count < 0 || elemSize < 0 {
		return fmt.Errorf("%s: declared size %d x %d bytes is negative: %w", what, count, elemSize, ErrTooLarge)
	}
	hi, lo := bits.Mul64(uint64(count), uint64(elemSize))
	ceiling := Bytes()
	if hi != 0 || lo > uint64(ceiling) {
		need := "more than 2^64"
		if hi == 0 {
			need = Format(int64(min(lo, math.MaxInt64)))
		}
		return fmt.Errorf("%s needs %s, %w of %s (set %s to raise it, e.g. %s=%s)",
			what, need, ErrTooLarge, Format(ceiling), EnvVar, EnvVar, Format(suggest(lo, hi, ceiling)))
	}
	return nil
}

// Count multiplies dims into an element count, refusing negative
// dimensions and products that overflow 63 bits (a zero dimension makes the
// count zero whatever the others are).
func Count(what string, dims []int64) (int64, error) {
	count := uint64(1)
	over, zero := false, false
	for i, d := range dims {
		if d < 0 {
			return 0, fmt.Errorf("%s: dimension %d is negative (%d)", what, i, d)
		}
		zero = zero || d == 0
		hi, lo := bits.Mul64(count, uint64(d))
		if hi != 0 || lo > math.MaxInt64 {
			over, lo = true, 1 // keep multiplying: a later zero still counts
		}
		count = lo
	}
	if zero {
		return 0, nil
	}
	if over {
		return 0, fmt.Errorf("%s: shape %v overflows 64 bits", what, dims)
	}
	return int64(count), nil
}

// suggest rounds a needed size up to whole GiB for the hint.
func suggest(lo, hi uint64, ceiling int64) int64 {
	if hi != 0 || lo > 1<<62 {
		return 1 << 62
	}
	n := (int64(lo) + 1<<30 - 1) &^ (1<<30 - 1)
	return max(n, ceiling)
}

var units = []struct {
	suffix string
	mult   int64
}{
	{"kib", 1 << 10}, {"mib", 1 << 20}, {"gib", 1 << 30}, {"tib", 1 << 40},
	{"kb", 1e3}, {"mb", 1e6}, {"gb", 1e9}, {"tb", 1e12},
	{"k", 1 << 10}, {"m", 1 << 20}, {"g", 1 << 30}, {"t", 1 << 40},
	{"b", 1},
}

// Parse reads a positive byte count: a number with an optional unit (B, KB,
// MB, GB, TB are powers of 1000; KiB, MiB, GiB, TiB and the single letters
// K, M, G, T powers of 1024), case-insensitive, as in "6GiB", "1.5g" or
// "2000000000".
func Parse(s string) (int64, error) {
	t := strings.ToLower(strings.TrimSpace(s))
	mult := int64(1)
	for _, u := range units {
		if strings.HasSuffix(t, u.suffix) {
			t, mult = strings.TrimSpace(strings.TrimSuffix(t, u.suffix)), u.mult
			break
		}
	}
	v, err := strconv.ParseFloat(t, 64)
	if err != nil || !(v > 0) || math.IsInf(v, 0) {
		return 0, errors.New("want a positive byte count such as 6GiB, 512MiB or 2000000000")
	}
	b := v * float64(mult)
	if b >= math.MaxInt64 {
		return 0, fmt.Errorf("%s overflows 64 bits", s)
	}
	if b < 1 {
		return 0, errors.New("want at least one byte")
	}
	return int64(b), nil
}

// Format renders n bytes with a binary unit, in a form Parse reads back.
func Format(n int64) string {
	for _, u := range []struct {
		s string
		m int64
	}{{"TiB", 1 << 40}, {"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}} {
		if n >= u.m {
			if n%u.m == 0 {
				return fmt.Sprintf("%d%s", n/u.m, u.s)
			}
			return fmt.Sprintf("%.1f%s", float64(n)/float64(u.m), u.s)
		}
	}
	return fmt.Sprintf("%dB", n)
}
