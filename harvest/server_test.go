package harvest

import (
	"net/http/httptest"
	"testing"

	"folio/engine"
	"folio/internal/demotest"
)

// demoRows is the size of the demo database the tests serve: small enough
// to build in a moment, large enough for many pages in every dialect.
const demoRows = 3000

// demoServer serves a small demo database as `folio serve` does and returns
// it with its engine (the oracle).
func demoServer(t testing.TB) (*httptest.Server, *engine.Engine) {
	return demotest.Serve(t, demoRows)
}
