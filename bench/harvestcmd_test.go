package bench

import (
	"bufio"
	"bytes"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

// curlLoop harvests by following the Link header's rel="next" with curl,
// appending each page's body to the output file: the loop users write by
// hand.
const curlLoop = `url="$1"; out="$2"; dir=$(mktemp -d); : > "$out"
while [ -n "$url" ]; do
  curl -sS --fail -D "$dir/h" -o "$dir/b" "$url" || exit 1
  cat "$dir/b" >> "$out"
  url=$(grep -i '^link:' "$dir/h" | grep -o '<[^>]*>; rel="next"' | sed 's/^<//; s/>.*//')
done
rm -rf "$dir"`

// BenchmarkHarvestCommand harvests all 1M entries from a real folio server,
// 1000 records a page, with `folio harvest` (with and without a resume
// checkpoint) and with curl in a shell loop following next links, in the
// same run, and reports records/s and the checkpoint's overhead.
func BenchmarkHarvestCommand(b *testing.B) {
	for _, tool := range []string{"curl", "bash", "grep", "sed"} {
		if _, err := exec.LookPath(tool); err != nil {
			b.Fatalf("%s is needed", tool)
		}
	}
	dir := b.TempDir()
	bin := filepath.Join(dir, "folio")
	if out, err := exec.Command("go", "build", "-o", bin, "folio/cmd/folio").CombinedOutput(); err != nil {
		b.Fatalf("go build: %v\n%s", err, out)
	}
	st := newStack(b, demoDB(b))
	url := listen(b, st.srv.Handler()) + "/v1/entries?limit=1000"

	run := func(name string, args ...string) time.Duration {
		b.Helper()
		start := time.Now()
		cmd := exec.Command(args[0], args[1:]...)
		cmd.Env = append(os.Environ(), "GOGC=") // folio sets its own default
		if out, err := cmd.CombinedOutput(); err != nil {
			b.Fatalf("%s: %v\n%s", name, err, out)
		}
		return time.Since(start)
	}
	countLines := func(path string) int {
		f, err := os.Open(path)
		if err != nil {
			b.Fatal(err)
		}
		defer f.Close()
		n, sc := 0, bufio.NewScanner(f)
		sc.Buffer(make([]byte, 1<<20), 64<<20)
		for sc.Scan() {
			n++
		}
		return n
	}
	// Warm the database's pages and the server, so that the first timed
	// run is not the only one reading from disk.
	run("warm-up", bin, "harvest", url, "--out", filepath.Join(dir, "warm.ndjson"))
	os.Remove(filepath.Join(dir, "warm.ndjson"))
	var overheads, speedups []float64
	b.ResetTimer()
	for i := range b.N {
		plain := filepath.Join(dir, "plain.ndjson")
		ckpt := filepath.Join(dir, "ckpt.ndjson")
		pages := filepath.Join(dir, "curl.json")
		for _, p := range []string{plain, ckpt, ckpt + ".checkpoint", pages} {
			os.Remove(p)
		}
		tp := run("folio harvest", bin, "harvest", url, "--out", plain)
		tc := run("folio harvest --checkpoint", bin, "harvest", url, "--out", ckpt, "--checkpoint", ckpt+".checkpoint")
		tl := run("curl loop", "bash", "-c", curlLoop, "loop", url, pages)
		n := countLines(plain)
		if m := countLines(ckpt); m != n {
			b.Fatalf("with a checkpoint %d records, without %d", m, n)
		}
		if raw, _ := os.ReadFile(pages); bytes.Count(raw, []byte(`"entry_id"`)) != n {
			b.Fatalf("the curl loop saw %d records, folio harvest %d", bytes.Count(raw, []byte(`"entry_id"`)), n)
		}
		b.ReportMetric(float64(n)/tp.Seconds(), "harvest_rec/s")
		b.ReportMetric(float64(n)/tl.Seconds(), "curl_rec/s")
		overheads = append(overheads, 100*(tc.Seconds()-tp.Seconds())/tp.Seconds())
		speedups = append(speedups, tl.Seconds()/tp.Seconds())
		b.Logf("run %d, %d records: folio harvest %s, with checkpoint %s (%+.1f%%), curl loop %s (folio %.2fx)",
			i, n, tp.Round(time.Millisecond), tc.Round(time.Millisecond), 100*(tc.Seconds()-tp.Seconds())/tp.Seconds(), tl.Round(time.Millisecond), tl.Seconds()/tp.Seconds())
	}
	b.ReportMetric(median(speedups), "median_speedup")
	b.ReportMetric(median(overheads), "median_checkpoint_overhead_%")
}

// BenchmarkHarvestParallel harvests all 1M entries from `folio serve` (a
// process of its own, as users run it) with `folio harvest --parallel 4`
// and, in the same run, with the sequential `folio harvest` in the same
// (key) order, checks that the two files are identical, and reports the
// median speedup.
func BenchmarkHarvestParallel(b *testing.B) {
	dir := b.TempDir()
	bin := filepath.Join(dir, "folio")
	if out, err := exec.Command("go", "build", "-o", bin, "folio/cmd/folio").CombinedOutput(); err != nil {
		b.Fatalf("go build: %v\n%s", err, out)
	}
	base := serveProcess(b, bin, demoDB(b)) + "/v1/entries"
	run := func(out string, args ...string) time.Duration {
		b.Helper()
		os.Remove(out)
		start := time.Now()
		cmd := exec.Command(bin, append([]string{"harvest", "--page-size", "1000", "--out", out}, args...)...)
		cmd.Env = append(os.Environ(), "GOGC=")
		if msg, err := cmd.CombinedOutput(); err != nil {
			b.Fatalf("folio harvest %v: %v\n%s", args, err, msg)
		}
		return time.Since(start)
	}
	seq, par := filepath.Join(dir, "seq.ndjson"), filepath.Join(dir, "par.ndjson")
	run(seq, base+"?sort=entry_id") // warm-up: the database's pages into memory
	var speedups []float64
	b.ResetTimer()
	for i := range b.N {
		ts := run(seq, base+"?sort=entry_id")
		tp := run(par, "--parallel", "4", base)
		b.StopTimer()
		same, err := sameFile(seq, par)
		if err != nil {
			b.Fatal(err)
		}
		if !same {
			b.Fatal("the parallel harvest differs from the sequential one in key order")
		}
		b.StartTimer()
		speedups = append(speedups, ts.Seconds()/tp.Seconds())
		b.Logf("run %d: sequential %s, 4 workers %s: %.2fx", i, ts.Round(time.Millisecond), tp.Round(time.Millisecond), ts.Seconds()/tp.Seconds())
	}
	// The machine's noise moves single runs by a third; the median of the
	// runs' ratios is the figure.
	b.ReportMetric(median(speedups), "median_speedup")
}

// serveProcess runs `folio serve --db path` until the benchmark ends and
// returns its base URL once it answers /healthz.
func serveProcess(b *testing.B, bin, path string) string {
	b.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	var logs bytes.Buffer
	cmd := exec.Command(bin, "serve", "--db", path, "--addr", addr)
	cmd.Env = append(os.Environ(), "GOGC=")
	cmd.Stdout, cmd.Stderr = io.Discard, &logs
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	b.Cleanup(func() {
		cmd.Process.Signal(os.Interrupt)
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-done
		}
	})
	url := "http://" + addr
	for deadline := time.Now().Add(2 * time.Minute); ; {
		resp, err := http.Get(url + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return url
			}
		}
		select {
		case err := <-done:
			b.Fatalf("folio serve exited: %v\n%s", err, logs.Bytes())
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			b.Fatalf("folio serve did not answer within 2 minutes\n%s", logs.Bytes())
		}
	}
}

// sameFile reports whether two files hold the same bytes.
func sameFile(a, b string) (bool, error) {
	x, err := os.ReadFile(a)
	if err != nil {
		return false, err
	}
	y, err := os.ReadFile(b)
	if err != nil {
		return false, err
	}
	return bytes.Equal(x, y), nil
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}
