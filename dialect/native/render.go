package native

import (
	"folio/engine"
	"folio/wire"
)

// The JSON of pages and records is appended to byte slices by the wire
// package's encoders, the same ones every dialect and export uses.

// fieldKeys returns the quoted JSON keys of the page's projected fields,
// ready for wire.AppendObject.
func fieldKeys(p *engine.Page) [][]byte {
	names := make([]string, len(p.Fields))
	for i, j := range p.Fields {
		names[i] = p.Columns[j].Name
	}
	return wire.ObjectKeys(names)
}
