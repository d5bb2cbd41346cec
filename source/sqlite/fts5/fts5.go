// Package fts5 compiles SQLite's FTS5 full-text search into folio. The
// driver (github.com/mattn/go-sqlite3) builds SQLite without FTS5 unless
// every build passes -tags sqlite_fts5, a setting a module cannot make for
// the go build, go run and go test of those who build it, and that the
// driver's own #cgo flags keep out of reach of any other package. So
// fts5.c is FTS5 as the driver's SQLite amalgamation holds it (gen.go
// copies it out), compiled here as an extension; importing this package
// registers it (sqlite3_auto_extension), so that every connection the
// driver opens in the process has the fts5 module. A driver built with
// FTS5 after all is left as it is.
package fts5

//go:generate go run gen.go

/*
#cgo CFLAGS: -Wno-deprecated-declarations
#cgo LDFLAGS: -lm
#include "sqlite3-binding.h"

int folio_sqlite3_fts5_init(sqlite3 *db, char **err, const sqlite3_api_routines *api);

static int enable(void) {
	if (sqlite3_compileoption_used("ENABLE_FTS5")) {
		return SQLITE_OK;
	}
	return sqlite3_auto_extension((void (*)(void))folio_sqlite3_fts5_init);
}
*/
import "C"

import "fmt"

func init() {
	// Registering can fail only for want of memory, at start-up.
	if rc := C.enable(); rc != C.SQLITE_OK {
		panic(fmt.Sprintf("fts5: register the extension with SQLite: error %d", int(rc)))
	}
}
