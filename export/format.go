package export

import (
	"fmt"

	"folio/engine"
	"folio/wire"
)

// Format is an export file format.
type Format string

// The formats an export can be written in.
const (
	// NDJSON is one JSON object per line (application/x-ndjson).
	NDJSON Format = "ndjson"
	// CSV is RFC 4180: a header row of field names, then one record per
	// row, CRLF line ends. NULL is an empty cell and an empty string a
	// quoted one (""); JSON fields hold their JSON text, times RFC 3339,
	// bytes unpadded base64url.
	CSV Format = "csv"
	// JSON is one JSON array of objects, one object per line.
	JSON Format = "json"
)

// Formats lists every format, in the order documentation shows them.
var Formats = []Format{NDJSON, CSV, JSON}

// ParseFormat parses "ndjson", "csv" or "json".
func ParseFormat(s string) (Format, error) {
	for _, f := range Formats {
		if string(f) == s {
			return f, nil
		}
	}
	return "", fmt.Errorf("unknown export format %q (one of ndjson, csv, json)", s)
}

// ContentType is the media type of the format, for HTTP.
func (f Format) ContentType() string {
	switch f {
	case NDJSON:
		return "application/x-ndjson"
	case CSV:
		return "text/csv; charset=utf-8"
	}
	return "application/json"
}

// Encoder appends the rows of one export to byte slices: Head once, Row
// for every row, Tail once. The HTTP export and folio export both write
// through it, so that they write the same bytes for the same query.
type Encoder struct {
	format Format
	names  []string
	keys   [][]byte // JSON object keys, `"name":`
	idx    []int    // indexes into a row of the fields to write
	rows   int64
}

// NewEncoder returns an encoder for rows with the given columns, writing
// the fields at the indexes out, in that order (what engine.Stream hands
// its start function).
func NewEncoder(f Format, columns []*engine.Field, out []int) *Encoder {
	e := &Encoder{format: f, idx: out, names: make([]string, len(out))}
	for i, j := range out {
		e.names[i] = columns[j].Name
	}
	if f != CSV {
		e.keys = wire.ObjectKeys(e.names)
	}
	return e
}

// Head appends what comes before the first row: CSV's header row, the
// JSON array's opening bracket.
func (e *Encoder) Head(b []byte) []byte {
	switch e.format {
	case CSV:
		for i, n := range e.names {
			if i > 0 {
				b = append(b, ',')
			}
			b = wire.AppendCSV(b, n)
		}
		return append(b, '\r', '\n')
	case JSON:
		return append(b, '[')
	}
	return b
}

// Row appends one row.
func (e *Encoder) Row(b []byte, row engine.Row) []byte {
	e.rows++
	switch e.format {
	case CSV:
		for i, j := range e.idx {
			if i > 0 {
				b = append(b, ',')
			}
			// An empty string is quoted so that it reads apart from NULL,
			// an empty cell (PostgreSQL's COPY does the same).
			if s, ok := row[j].(string); ok && s == "" {
				b = append(b, '"', '"')
				continue
			}
			b = wire.AppendCSV(b, row[j])
		}
		return append(b, '\r', '\n')
	case JSON:
		if e.rows > 1 {
			b = append(b, ',')
		}
		b = append(b, '\n')
		return wire.AppendObject(b, row, e.keys, e.idx)
	}
	b = wire.AppendObject(b, row, e.keys, e.idx)
	return append(b, '\n')
}

// Tail appends what comes after the last row: the JSON array's closing
// bracket.
func (e *Encoder) Tail(b []byte) []byte {
	if e.format == JSON {
		if e.rows > 0 {
			b = append(b, '\n')
		}
		return append(b, ']', '\n')
	}
	return b
}

// Rows is the number of rows appended so far.
func (e *Encoder) Rows() int64 { return e.rows }
