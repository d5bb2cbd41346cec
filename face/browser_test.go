package face_test

import (
	"bytes"
	"context"
	_ "embed"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"folio/internal/demodb"
	"folio/internal/demotest"
	"folio/internal/openapitest"
)

// axe is axe-core, vendored with its licence (testdata/axe/README.md).
//
//go:embed testdata/axe/axe.min.js
var axe string

// chromium starts Debian's headless Chromium for the test, or fails it
// saying why: a browser test that cannot run must not pass.
func chromium(t *testing.T) (ctx context.Context, consoleErrors func() []string) {
	t.Helper()
	path := ""
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			path = p
			break
		}
	}
	if path == "" {
		t.Fatal("no Chromium on PATH (Debian: apt-get install chromium; .ci/run installs it)")
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(path), chromedp.NoSandbox,
		chromedp.WindowSize(1280, 900), chromedp.Flag("disable-dev-shm-usage", true))
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	var (
		mu   sync.Mutex
		errs []string
	)
	// chromedp enables the Runtime and Log domains on every tab; the
	// listener sees their events from the first page on.
	listen := func(ev any) {
		mu.Lock()
		defer mu.Unlock()
		switch ev := ev.(type) {
		case *runtime.EventConsoleAPICalled:
			if ev.Type == runtime.ConsoleAPICalledTypeError {
				var parts []string
				for _, a := range ev.Args {
					parts = append(parts, string(a.Value))
				}
				errs = append(errs, "console.error: "+strings.Join(parts, " "))
			}
		case *runtime.EventExceptionThrown:
			errs = append(errs, "exception: "+ev.ExceptionDetails.Text)
		case *log.EventEntryAdded:
			if ev.Entry.Level == log.EntryLevelError {
				errs = append(errs, "log: "+ev.Entry.Text+" "+ev.Entry.URL)
			}
		}
	}
	ctx, cancel := chromedp.NewContext(actx, chromedp.WithListener(listen))
	t.Cleanup(func() { cancel(); cancelAlloc() })
	if err := chromedp.Do(ctx, chromedp.Navigate("about:blank")); err != nil {
		t.Fatalf("the browser (%s) did not start: %v", path, err)
	}
	return ctx, func() []string {
		mu.Lock()
		defer mu.Unlock()
		out := errs
		errs = nil
		return out
	}
}

// step is what the walk checks on every page: no console error, and no
// serious accessibility violation by axe-core.
func step(t *testing.T, ctx context.Context, name string, consoleErrors func() []string, shots string) (location string, body []byte) {
	t.Helper()
	var err error
	if location, err = chromedp.Run(ctx, chromedp.Location()); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	html, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.documentElement.outerHTML`))
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[chromedp.Void](axe)); err != nil {
		t.Fatalf("%s: axe-core: %v", name, err)
	}
	type violation struct {
		ID, Impact, Help string
		Nodes            []struct{ Target []any }
	}
	vs, err := chromedp.Run(ctx, chromedp.Evaluate[[]violation](
		`axe.run(document, {resultTypes: ["violations"]}).then(r => r.violations)`, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("%s: axe-core: %v", name, err)
	}
	for _, v := range vs {
		if v.Impact == "serious" || v.Impact == "critical" {
			t.Errorf("%s (%s): accessibility: %s %s: %s (%d nodes, first %v)", name, location, v.Impact, v.ID, v.Help, len(v.Nodes), v.Nodes[0].Target)
		}
	}
	for _, e := range consoleErrors() {
		// An error page's own status is logged as a failed load; that is
		// the page saying what it should.
		if strings.HasPrefix(name, "error") && strings.HasSuffix(e, " "+location) {
			continue
		}
		t.Errorf("%s (%s): %s", name, location, e)
	}
	if shots != "" {
		png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
		if err != nil {
			t.Fatalf("%s: screenshot: %v", name, err)
		}
		if err := os.WriteFile(filepath.Join(shots, name+".png"), png, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return location, []byte(html)
}

// follow clicks sel and waits for the page it leads to.
func follow(t *testing.T, ctx context.Context, what, sel string) {
	t.Helper()
	tctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	resp, err := chromedp.RunResponse(tctx, chromedp.Click(chromedp.CSS(sel), chromedp.NodeVisible))
	if err != nil {
		t.Fatalf("%s: click %s: %v", what, sel, err)
	}
	if resp.Status != http.StatusOK {
		t.Fatalf("%s: %s → %d", what, resp.URL, resp.Status)
	}
}

// TestBrowserWalk walks the face as a person would, in a real headless
// Chromium: open /, follow to a collection, sort by a header, filter with
// the form, page forward three times and back twice, open a record,
// follow an export link. On every page the rows shown are the JSON API's
// for the same URL, the console holds no error and axe-core finds no
// serious violation. With FOLIO_SCREENSHOTS=dir it saves each page there.
func TestBrowserWalk(t *testing.T) {
	ts, _ := demotest.Serve(t, demodb.Rows)
	v := openapitest.Fetch(t, ts.URL)
	ctx, consoleErrors := chromium(t)
	shots := os.Getenv("FOLIO_SCREENSHOTS")

	if err := chromedp.Do(ctx, chromedp.Navigate(ts.URL+"/")); err != nil {
		t.Fatalf("open /: %v", err)
	}
	step(t, ctx, "landing", consoleErrors, shots)

	follow(t, ctx, "to entries", `a[href$="/v1/entries"]`)
	loc, body := step(t, ctx, "collection", consoleErrors, "")
	sameRows(t, v, loc, body)

	follow(t, ctx, "sort", `th[data-field="n_elements"] a`)
	loc, body = step(t, ctx, "sorted", consoleErrors, "")
	if !strings.Contains(loc, "sort=n_elements") {
		t.Errorf("sorted by a header click: %s", loc)
	}
	sameRows(t, v, loc, body)

	if err := chromedp.Do(ctx,
		chromedp.SetValue(chromedp.CSS(`#ff0`), "band_gap"),
		chromedp.SetValue(chromedp.CSS(`#fo0`), "gte"),
		chromedp.SendKeys(chromedp.CSS(`#fv0`), "1.5"),
	); err != nil {
		t.Fatalf("fill the filter: %v", err)
	}
	follow(t, ctx, "filter", `form.controls button[type="submit"]`)
	loc, body = step(t, ctx, "filtered", consoleErrors, shots)
	if !strings.Contains(loc, "band_gap%5Bgte%5D=1.5") || !strings.Contains(loc, "sort=n_elements") {
		t.Errorf("the filter form led to %s", loc)
	}
	sameRows(t, v, loc, body)

	for i := 1; i <= 3; i++ {
		follow(t, ctx, "next", `nav.pager a[data-rel="next"]`)
		loc, body = step(t, ctx, fmt.Sprintf("next %d", i), consoleErrors, "")
		sameRows(t, v, loc, body)
	}
	for i := 1; i <= 2; i++ {
		follow(t, ctx, "prev", `nav.pager a[data-rel="prev"]`)
		loc, body = step(t, ctx, fmt.Sprintf("prev %d", i), consoleErrors, "")
		sameRows(t, v, loc, body)
	}
	page := loc

	follow(t, ctx, "record", `table.rows tbody a`)
	loc, body = step(t, ctx, "record", consoleErrors, shots)
	sameRecord(t, v, loc, body)

	if err := chromedp.Do(ctx, chromedp.Navigate(page)); err != nil {
		t.Fatal(err)
	}
	follow(t, ctx, "export", `a[rel="alternate"][href*=".json"]`)
	loc, err := chromedp.Run(ctx, chromedp.Location())
	if err != nil {
		t.Fatal(err)
	}
	shown, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.body.innerText`))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(loc, "/v1/entries.json?") || !strings.Contains(loc, "band_gap%5Bgte%5D=1.5") {
		t.Errorf("the export link led to %s", loc)
	}
	_, api := get(t, v, loc, "")
	var a, b any
	if err := json.Unmarshal([]byte(shown), &a); err != nil {
		t.Fatalf("the export shown is not JSON: %v", err)
	}
	json.Unmarshal(api, &b)
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	if !bytes.Equal(ja, jb) {
		t.Errorf("the export the browser shows differs from the API's for %s", loc)
	}
	for _, e := range consoleErrors() {
		t.Errorf("export: %s", e)
	}
}

// TestBrowserPages checks the other pages alone: the API reference and a
// record of a composite key; with FOLIO_SCREENSHOTS, the reference too.
func TestBrowserPages(t *testing.T) {
	ts, _ := demotest.Serve(t, demodb.Rows)
	ctx, consoleErrors := chromium(t)
	for _, p := range []struct{ name, path string }{
		{"docs", "/docs"},
		{"collections", "/v1"},
		{"error", "/v1/entries?limit=0"},
		{"profiles", "/v1/profiles?limit=5&sort=-city"},
	} {
		if _, err := chromedp.RunResponse(ctx, chromedp.Navigate(ts.URL+p.path)); err != nil {
			t.Fatalf("%s: %v", p.path, err)
		}
		step(t, ctx, p.name, consoleErrors, "")
	}
}

// TestAxeFindsViolations shows that the accessibility check can fail: a
// page with an unlabelled field and an image without alternative text.
func TestAxeFindsViolations(t *testing.T) {
	ctx, _ := chromium(t)
	bad := `data:text/html,<!DOCTYPE html><html><body><img src="data:,"><input type="text"></body></html>`
	if err := chromedp.Do(ctx, chromedp.Navigate(bad), chromedp.Evaluate[chromedp.Void](axe)); err != nil {
		t.Fatal(err)
	}
	ids, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](
		`axe.run(document).then(r => r.violations.filter(v => v.impact === "serious" || v.impact === "critical").map(v => v.id))`, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(ids, "image-alt") || !slices.Contains(ids, "label") {
		t.Errorf("axe found %v on a page without alt text or labels", ids)
	}
}
