package bench

import (
	"encoding/json"
	"net/http"
	"testing"
	"time"
)

// BenchmarkHarvest downloads all 1M entries through HTTP, 1000 rows a page,
// following links.next, from folio and from the bare baseline in the same
// run, and reports rows/s for each.
func BenchmarkHarvest(b *testing.B) {
	path := demoDB(b)
	st := newStack(b, path)
	folio := listen(b, st.srv.Handler())
	bare := listen(b, bareHandler(b, path))
	client := newHarvestClient()
	for range b.N {
		fr, fd := harvest(b, client, folio, folio+"/v1/entries?limit=1000")
		br, bd := harvest(b, client, bare+"/", bare+"/?limit=1000")
		if fr != br {
			b.Fatalf("folio harvested %d rows, the baseline %d", fr, br)
		}
		b.ReportMetric(float64(fr)/fd.Seconds(), "folio_rows/s")
		b.ReportMetric(float64(br)/bd.Seconds(), "bare_rows/s")
		b.ReportMetric(bd.Seconds()/fd.Seconds(), "ratio")
		b.Logf("%d rows: folio %s (%.0f rows/s), bare %s (%.0f rows/s)", fr, fd.Round(time.Millisecond), float64(fr)/fd.Seconds(), bd.Round(time.Millisecond), float64(br)/bd.Seconds())
	}
}

// harvest follows next links from url to the end and returns the number of
// rows and the time it took. base prefixes relative next links.
func harvest(tb testing.TB, c *http.Client, base, url string) (int, time.Duration) {
	start := time.Now()
	n := 0
	for url != "" {
		resp, err := c.Get(url)
		if err != nil {
			tb.Fatal(err)
		}
		var page struct {
			Data  []json.RawMessage `json:"data"`
			Links struct {
				Next string `json:"next"`
			} `json:"links"`
		}
		err = json.NewDecoder(resp.Body).Decode(&page)
		resp.Body.Close()
		if err != nil || resp.StatusCode != http.StatusOK {
			tb.Fatalf("GET %s: status %d, %v", url, resp.StatusCode, err)
		}
		n += len(page.Data)
		url = page.Links.Next
		if url != "" && url[0] != 'h' {
			url = base + url
		}
	}
	return n, time.Since(start)
}

// newHarvestClient is the HTTP client the harvest benchmarks follow links with.
func newHarvestClient() *http.Client {
	return &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 1}}
}
