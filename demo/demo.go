// Package demo generates folio's demo database: four tables shaped like the
// four seed systems (NOMAD entries, DataCite DOIs, GOCDB downtimes, Copernica
// profiles). Generation is deterministic — the same rows and seed give the
// same data on a given platform (a few values pass through math.Exp and
// math.Pow, whose last bit may differ between CPU architectures) — and lazy:
// every table's Rows iterator computes its rows one at a time in constant
// memory, and may be iterated again to produce the same rows.
package demo

import (
	"encoding/base64"
	"encoding/binary"
	"math/rand/v2"
	"sort"
	"time"

	"folio/dataset"
	"folio/engine"
)

// DefaultRows is the number of entries `folio demo` generates by default.
const DefaultRows = 1_000_000

// DefaultSeed is the seed `folio demo` uses by default.
const DefaultSeed = 1

// FormatVersion names the shape of the demo tables. It changes whenever a
// table gains, loses or changes a column, so that a demo database built by
// an earlier folio, which config/demo.yaml no longer fits, is built again
// rather than served.
const FormatVersion = 2

// Database42Profiles is the number of profiles in database 42, whatever the
// number of rows: the Copernica seed example pages through a database of
// exactly this many profiles.
const Database42Profiles = 1700

// Minimum table sizes, so that a small --rows still gives every dialect
// enough data to page through.
const (
	minDOIs      = 100
	minDowntimes = 100
	minProfiles  = Database42Profiles + 300
)

// Tables returns the four demo tables for rows entries (rows below 1 count
// as 1). The other tables scale with it: dois rows/5, downtimes rows/20,
// profiles rows*3/10, each with a small minimum; profiles always holds
// database 42 with exactly Database42Profiles profiles.
func Tables(rows int, seed int64) []*dataset.Table {
	s := sizesFor(rows)
	return []*dataset.Table{
		entriesTable(s.entries, seed),
		doisTable(s.dois, seed),
		downtimesTable(s.downtimes, seed),
		profilesTable(s.profiles, seed),
	}
}

// sizes are the row counts of the four tables.
type sizes struct{ entries, dois, downtimes, profiles int }

func sizesFor(rows int) sizes {
	rows = max(rows, 1)
	return sizes{
		entries:   rows,
		dois:      max(rows/5, minDOIs),
		downtimes: max(rows/20, minDowntimes),
		profiles:  max(rows*3/10, minProfiles),
	}
}

// Each table draws from its own PCG stream, so that changing how one table
// is generated does not change the others.
const (
	streamEntries uint64 = 0x656e7472696573 + iota
	streamDOIs
	streamDowntimes
	streamProfiles
	streamDowntimeEndpoints // the downtimes' affected endpoints, after the other columns
)

func newRand(seed int64, stream uint64) *rand.Rand {
	return rand.New(rand.NewPCG(uint64(seed), stream))
}

// mix is a bijection on uint64 (the splitmix64 finalizer): distinct inputs
// give distinct outputs that look random, which lets ids be unique by
// construction rather than by luck.
func mix(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}

// mix40 is a bijection on the integers below 2^40, for ids that are encoded
// in eight base-32 digits.
func mix40(x, key uint64) uint64 {
	const mask = 1<<40 - 1
	x = (x ^ key) & mask
	x = (x * 0x9e3779b97f) & mask // odd, so invertible modulo 2^40
	x ^= x >> 19
	x = (x * 0xbf58476d1d) & mask
	x ^= x >> 23
	return x
}

// nomadID returns a 28-character base64url id like NOMAD's entry and upload
// ids. The first 64 bits are a bijection of n (so ids of distinct n differ),
// the remaining 104 bits are random.
func nomadID(r *rand.Rand, n, key uint64) string {
	var raw [21]byte
	binary.BigEndian.PutUint64(raw[0:8], mix(n+key))
	binary.BigEndian.PutUint64(raw[8:16], r.Uint64())
	// Overlaps the previous three bytes: 13 random bytes from two draws.
	binary.BigEndian.PutUint64(raw[13:21], r.Uint64())
	var out [28]byte
	base64.RawURLEncoding.Encode(out[:], raw[:])
	return string(out[:])
}

// crockford is the lower-case base-32 alphabet DataCite uses for generated
// DOI suffixes (no i, l, o, u).
const crockford = "0123456789abcdefghjkmnpqrstvwxyz"

// appendBase32 appends the 40-bit x as eight base-32 digits, with a hyphen
// after the fourth when hyphen is set (DataCite's "fxws-0523" form).
func appendBase32(dst []byte, x uint64, hyphen bool) []byte {
	for i := 7; i >= 0; i-- {
		dst = append(dst, crockford[(x>>(5*uint(i)))&31])
		if hyphen && i == 4 {
			dst = append(dst, '-')
		}
	}
	return dst
}

// weights picks indexes with probability proportional to integer weights.
type weights struct {
	cum   []int // cum[i] is the sum of the weights 0..i
	total int
}

func newWeights(w ...int) weights {
	cum := make([]int, len(w))
	t := 0
	for i, x := range w {
		t += x
		cum[i] = t
	}
	return weights{cum: cum, total: t}
}

func (w weights) pick(r *rand.Rand) int {
	return sort.SearchInts(w.cum, r.IntN(w.total)+1)
}

// texts boxes a list of strings once, so that rows can reuse the boxed
// values instead of allocating one per row.
func texts(s ...string) []engine.Value {
	v := make([]engine.Value, len(s))
	for i, x := range s {
		v[i] = x
	}
	return v
}

// unixMicro returns the UTC time for t microseconds since the Unix epoch.
func unixMicro(t int64) time.Time { return time.UnixMicro(t).UTC() }

// unixSec returns the UTC time for t seconds since the Unix epoch.
func unixSec(t int64) time.Time { return time.Unix(t, 0).UTC() }

// date returns midnight UTC of a day.
func date(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, time.UTC) }
