package bench

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"folio/engine"
	"folio/internal/heappeak"
)

// BenchmarkExportNDJSON streams all entries as NDJSON through a real
// connection, GET /v1/entries.ndjson?sort=-upload_create_time, counting
// the lines, and in the same run times the sqlite3 command-line shell's
// JSON output of the same SELECT (same columns, same order) into
// /dev/null. It reports rows/s for each, their ratio (folio over sqlite3)
// and the growth of the heap while folio streams: the peak of heap
// objects, garbage included, sampled every 5 ms, over the live heap before
// the stream.
func BenchmarkExportNDJSON(b *testing.B) {
	sqlite3, err := exec.LookPath("sqlite3")
	if err != nil {
		b.Fatal("the sqlite3 shell is needed: apt-get install -y sqlite3")
	}
	path := demoDB(b)
	st := newStack(b, path)
	base := listen(b, st.srv.Handler())
	c, err := st.eng.Collection("entries")
	if err != nil {
		b.Fatal(err)
	}
	total, err := st.src.Count(context.Background(), c, nil)
	if err != nil {
		b.Fatal(err)
	}
	const sort = "-upload_create_time"
	query := equivalentSQL(b, c, sort)
	url := base + "/v1/entries.ndjson?sort=" + sort
	client := &http.Client{Transport: &http.Transport{DisableCompression: true}}

	for range b.N {
		// Alternate so that drift in the machine's load hits both.
		fr, fd, growth := streamNDJSON(b, client, url)
		if fr != int(total) {
			b.Fatalf("folio streamed %d rows, the table has %d", fr, total)
		}
		sd := runSQLite(b, sqlite3, path, query)
		fps, sps := float64(fr)/fd.Seconds(), float64(total)/sd.Seconds()
		b.ReportMetric(fps, "folio_rows/s")
		b.ReportMetric(sps, "sqlite3_rows/s")
		b.ReportMetric(fps/sps, "ratio")
		b.ReportMetric(float64(growth)/(1<<20), "heap_growth_MiB")
		b.Logf("%d rows: folio %s (%.0f rows/s), sqlite3 -json %s (%.0f rows/s), ratio %.2f; heap growth while streaming %.1f MiB",
			fr, fd.Round(time.Millisecond), fps, sd.Round(time.Millisecond), sps, fps/sps, float64(growth)/(1<<20))
	}
}

// equivalentSQL is the SELECT that folio runs for the export with sort s:
// the visible columns, ordered by s and then the key in the direction of
// the last term.
func equivalentSQL(tb testing.TB, c *engine.Collection, s string) string {
	var cols []string
	for _, f := range c.Visible() {
		cols = append(cols, `"`+f.Column+`"`)
	}
	var order []string
	desc := false
	for _, k := range engine.ParseSort(s) {
		f := c.Field(k.Field)
		if f == nil {
			tb.Fatalf("no field %q", k.Field)
		}
		desc = k.Desc
		order = append(order, `"`+f.Column+`"`+map[bool]string{true: " DESC", false: " ASC"}[desc])
	}
	order = append(order, `"`+c.KeyField().Column+`"`+map[bool]string{true: " DESC", false: " ASC"}[desc])
	return fmt.Sprintf("SELECT %s FROM %q ORDER BY %s", strings.Join(cols, ", "), c.Table, strings.Join(order, ", "))
}

// streamNDJSON reads the NDJSON export at url to the end and returns the
// number of lines, the time it took and the heap growth meanwhile.
func streamNDJSON(tb testing.TB, client *http.Client, url string) (int, time.Duration, uint64) {
	base := heappeak.Live()
	watch := heappeak.Start(5 * time.Millisecond)

	start := time.Now()
	resp, err := client.Get(url)
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(resp.Body)
		tb.Fatalf("GET %s: %d %s", url, resp.StatusCode, body)
	}
	buf := make([]byte, 256<<10)
	r := bufio.NewReaderSize(resp.Body, len(buf))
	lines := 0
	for {
		n, err := r.Read(buf)
		lines += bytes.Count(buf[:n], []byte{'\n'})
		if err == io.EOF {
			break
		}
		if err != nil {
			tb.Fatalf("GET %s: after %d rows: %v", url, lines, err)
		}
	}
	took := time.Since(start)
	growth := uint64(0)
	if p := watch.Stop(); p > base {
		growth = p - base
	}
	return lines, took, growth
}

// runSQLite runs the sqlite3 shell's JSON output of query on the database
// at path into /dev/null and returns the time it took.
func runSQLite(tb testing.TB, sqlite3, path, query string) time.Duration {
	devnull, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		tb.Fatal(err)
	}
	defer devnull.Close()
	cmd := exec.Command(sqlite3, "-json", "-readonly", path, query)
	cmd.Stdout = devnull
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	start := time.Now()
	if err := cmd.Run(); err != nil {
		tb.Fatalf("sqlite3: %v\n%s", err, stderr.Bytes())
	}
	return time.Since(start)
}
