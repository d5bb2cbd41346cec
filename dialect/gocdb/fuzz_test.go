package gocdb

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

// FuzzQuery sends arbitrary query strings: the answer is always a
// well-formed XML document and never a 5xx.
func FuzzQuery(f *testing.F) {
	fx := newFixture(f)
	for _, s := range []string{
		"method=get_downtime&next_cursor=0",
		"method=get_downtime&prev_cursor=1e3&severity=OUTAGE",
		"method=get_downtime&next_cursor=1&prev_cursor=2",
		"method=get_downtime&sitelist=UKI-ALDERHOLM,DE-ESKVALE&startdate=2010-01-01&next_cursor=007",
		"method=get_downtime&page_size=5",
		"method=%zz&next_cursor=%",
		"method=get_downtime&scope=&scope_match=any&topentity=NGI_UK&ongoing_only=yes&next_cursor=0",
		"method=get_downtime&all_lastmonth&scope=EGI,,wlcg&windowend=2010-01-01",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		for _, target := range []string{"/gocdbpi/public/", "/gocdbpi/public"} {
			req := httptest.NewRequest(http.MethodGet, target, nil)
			req.URL.RawQuery = raw
			rec := httptest.NewRecorder()
			fx.h.ServeHTTP(rec, req)
			if rec.Code >= 500 {
				t.Fatalf("%s?%s: status %d: %s", target, raw, rec.Code, rec.Body)
			}
			if err := wellFormed(rec.Body.Bytes()); err != nil {
				t.Fatalf("%s?%s: body is not well-formed XML: %v\n%s", target, raw, err, rec.Body)
			}
		}
	})
}
