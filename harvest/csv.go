package harvest

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"folio/client"
)

// Output formats.
const (
	NDJSON = "ndjson"
	CSV    = "csv"
)

// FormatOf names the format a file's extension asks for: CSV for .csv,
// NDJSON for anything else.
func FormatOf(path string) string {
	if strings.HasSuffix(strings.ToLower(path), ".csv") {
		return CSV
	}
	return NDJSON
}

// format is the output format o asks for, checked before any file is
// touched.
func (o Options) format() (string, error) {
	f := o.Format
	if f == "" {
		f = FormatOf(o.Out)
	}
	if f != NDJSON && f != CSV {
		return "", fmt.Errorf("harvest: unknown output format %q (ndjson or csv)", f)
	}
	return f, nil
}

// csvTable writes records as CSV rows. Nested objects are flattened into
// dotted column names (attributes.title), arrays are kept as JSON text, null
// is an empty cell. The columns are fixed by the first page (the union of
// its records' fields, in the order they appear) and written as the header;
// a later record with a field outside them is an error rather than a
// silently dropped value.
type csvTable struct {
	cols   []string
	index  map[string]int
	header bool // write the header before the next rows
}

func newCSVTable(cols []string, header bool) *csvTable {
	t := &csvTable{header: header}
	t.setColumns(cols)
	return t
}

func (t *csvTable) setColumns(cols []string) {
	t.cols = cols
	t.index = make(map[string]int, len(cols))
	for i, c := range cols {
		t.index[c] = i
	}
}

// appendPage appends recs as rows to buf; first is the number of the first
// record, for errors.
func (t *csvTable) appendPage(buf *bytes.Buffer, recs []client.Record, first int64) error {
	flat := make([][]cell, len(recs))
	for i, r := range recs {
		cells, err := flatten(r)
		if err != nil {
			return fmt.Errorf("record %d: %w", first+int64(i), err)
		}
		flat[i] = cells
	}
	w := csv.NewWriter(buf)
	if t.cols == nil {
		if len(recs) == 0 {
			return nil
		}
		var cols []string
		seen := map[string]bool{}
		for _, cells := range flat {
			for _, c := range cells {
				if !seen[c.key] {
					seen[c.key] = true
					cols = append(cols, c.key)
				}
			}
		}
		t.setColumns(cols)
	}
	if t.header {
		if err := w.Write(t.cols); err != nil {
			return err
		}
		t.header = false
	}
	row := make([]string, len(t.cols))
	for i, cells := range flat {
		clear(row)
		for _, c := range cells {
			j, ok := t.index[c.key]
			if !ok {
				return fmt.Errorf("record %d has the field %q, which is not among the CSV columns the first page set (%s); harvest to NDJSON to keep every field",
					first+int64(i), c.key, strings.Join(t.cols, ", "))
			}
			row[j] = c.value
		}
		if err := w.Write(row); err != nil {
			return err
		}
	}
	w.Flush()
	return w.Error()
}

// headerLine is the CSV header for cols.
func headerLine(cols []string) []byte {
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	w.Write(cols)
	w.Flush()
	return buf.Bytes()
}

type cell struct{ key, value string }

// flatten turns one JSON object into cells, in the order of its fields.
func flatten(r client.Record) ([]cell, error) {
	r = bytes.TrimSpace(r)
	if len(r) == 0 || r[0] != '{' {
		return nil, errors.New("CSV needs records that are JSON objects")
	}
	var cells []cell
	if err := flattenInto(&cells, "", r); err != nil {
		return nil, err
	}
	// {"a.b": 1, "a": {"b": 2}} flattens to one column twice; one of the
	// values would be lost.
	seen := make(map[string]bool, len(cells))
	for _, c := range cells {
		if seen[c.key] {
			return nil, fmt.Errorf("the field %q occurs twice once nested objects are flattened; harvest to NDJSON to keep both", c.key)
		}
		seen[c.key] = true
	}
	return cells, nil
}

func flattenInto(cells *[]cell, prefix string, obj []byte) error {
	dec := json.NewDecoder(bytes.NewReader(obj))
	if _, err := dec.Token(); err != nil { // {
		return err
	}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return err
		}
		key := prefix + tok.(string)
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return err
		}
		switch {
		case len(v) > 0 && v[0] == '{':
			if err := flattenInto(cells, key+".", v); err != nil {
				return err
			}
			continue
		case string(v) == "null":
			*cells = append(*cells, cell{key, ""})
		case len(v) > 0 && v[0] == '"':
			var s string
			if err := json.Unmarshal(v, &s); err != nil {
				return err
			}
			*cells = append(*cells, cell{key, s})
		default:
			var b bytes.Buffer
			if err := json.Compact(&b, v); err != nil {
				return err
			}
			*cells = append(*cells, cell{key, b.String()})
		}
	}
	_, err := dec.Token() // }
	if err == io.EOF {
		err = nil
	}
	return err
}
