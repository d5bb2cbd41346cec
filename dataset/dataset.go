// Package dataset describes a table to be created and filled: its columns,
// key, indexes and rows. Producers (the demo generator, importers, tests)
// build Tables; sources load them.
package dataset

import (
	"iter"

	"folio/engine"
)

// Column is one column of a Table.
type Column struct {
	Name     string
	Type     engine.Type // TypeJSON columns hold JSON text
	Nullable bool
}

// Index is an index to create after loading. A column name prefixed with "-"
// is descending.
type Index struct {
	Name    string
	Columns []string
	Unique  bool
}

// Table is a table to create and fill.
type Table struct {
	Name    string
	Columns []Column
	Key     []string // primary key columns in order; empty for none
	Indexes []Index
	// Rows yields the rows in insertion order, values aligned with Columns and
	// typed as engine.Value (JSON columns as string). The slice may be reused
	// between iterations.
	Rows iter.Seq[[]engine.Value]
	// Len is the number of rows Rows yields, for progress reports (0: unknown).
	Len int
}

// Progress is told how many rows of which table are loaded so far.
type Progress func(table string, done, total int)
