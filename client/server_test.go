package client

import (
	"os"
	"testing"

	"folio/internal/demodb"
)

// demoRows is the size of the demo database the tests serve: small enough
// to build in a moment, large enough for many pages in every dialect. The
// test binary builds it once (demodb.Main) and every test shares it, served
// as `folio serve` does (demotest.Serve).
const demoRows = 5000

func TestMain(m *testing.M) { os.Exit(demodb.Main(m)) }
