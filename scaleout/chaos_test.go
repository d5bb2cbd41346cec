package scaleout

import (
	"context"
	"encoding/hex"
	"flag"
	"fmt"
	mrand "math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"folio/internal/nginxtest"
	"folio/internal/pgtest"
)

var (
	chaosSeed   = flag.Uint64("chaos.seed", 0, "seed of TestChaos (default: $FOLIO_CHAOS_SEED, else the clock)")
	chaosRounds = flag.Int("chaos.rounds", 0, "rounds of TestChaos (default: $FOLIO_CHAOS_ROUNDS, else 12)")
)

// chaosConfig reads the seed and the number of rounds from the flags or
// the environment, so that a failed run can be replayed.
func chaosConfig(t *testing.T) (seed uint64, rounds int) {
	t.Helper()
	seed, rounds = *chaosSeed, *chaosRounds
	if s := os.Getenv("FOLIO_CHAOS_SEED"); seed == 0 && s != "" {
		var err error
		if seed, err = strconv.ParseUint(s, 10, 64); err != nil {
			t.Fatalf("FOLIO_CHAOS_SEED=%q: %v", s, err)
		}
	}
	if seed == 0 {
		seed = uint64(time.Now().UnixNano())
	}
	if s := os.Getenv("FOLIO_CHAOS_ROUNDS"); rounds == 0 && s != "" {
		var err error
		if rounds, err = strconv.Atoi(s); err != nil || rounds < 1 {
			t.Fatalf("FOLIO_CHAOS_ROUNDS=%q: want a positive number", s)
		}
	}
	if rounds == 0 {
		rounds = 12
	}
	return seed, rounds
}

// fault is one thing that goes wrong in a deployment, and its repair.
type fault struct {
	name        string
	apply, undo func() error
}

// TestChaos runs the deployment of docs/SCALING.md as processes: a
// PostgreSQL primary and a streaming replica, two `folio serve` processes
// with one key reading from the replica, and nginx with
// docs/nginx/folio.conf in front. In every round, while a writer inserts
// rows on the primary, two harvests (ascending and descending) and a
// prober of uncached pages go through nginx, and one fault strikes
// mid-harvest and is repaired: a node killed with SIGKILL and started
// again, the replica stopped and started, the replica's replay paused and
// resumed, the primary restarted, or both databases stopped and started
// (dealt at random, every kind once in every six rounds). Every round
// checks that each harvest holds every row that existed throughout exactly
// once, in order, and that no client saw anything but pages and folio's
// 503 with Retry-After. The seed is logged and can be set to replay a run:
//
//	FOLIO_CHAOS_SEED=N go test ./scaleout -run Chaos -v   (or -chaos.seed N)
//
// FOLIO_CHAOS_ROUNDS (or -chaos.rounds) sets the number of rounds.
func TestChaos(t *testing.T) {
	seed, rounds := chaosConfig(t)
	t.Logf("seed %d, %d rounds (replay: FOLIO_CHAOS_SEED=%d go test ./scaleout -run Chaos)", seed, rounds, seed)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("failed with seed %d: replay with FOLIO_CHAOS_SEED=%d go test ./scaleout -run Chaos -v", seed, seed)
		}
	})
	rng := mrand.New(mrand.NewPCG(seed, 1))
	ctx := context.Background()

	const rows, limit = 1500, 30
	pg := pgtest.StartServer(t)
	primary, ids := loadItems(t, pg, rng.Uint64(), rows)
	rep := pg.Replica(t)
	u, err := url.Parse(primary)
	if err != nil {
		t.Fatal(err)
	}
	replica := rep.URL(strings.TrimPrefix(u.Path, "/"))
	secret := hex.EncodeToString(newKey(t))
	nodes := []*process{
		startProcess(t, "--db", primary, "--replica", replica, "--secret", secret),
		startProcess(t, "--db", primary, "--replica", replica, "--secret", secret),
	}
	base := nginxtest.Start(t, nodes[0].addr, nodes[1].addr)

	// The writer inserts rows whose ids the table does not hold, in random
	// order, all through the test, and rides out the primary's restarts.
	original := map[int64]bool{}
	for _, id := range ids {
		original[id] = true
	}
	var fresh []int64
	for id := int64(-rows); id < 20*rows; id++ {
		if !original[id] {
			fresh = append(fresh, id)
		}
	}
	rng.Shuffle(len(fresh), func(i, j int) { fresh[i], fresh[j] = fresh[j], fresh[i] })
	w, err := pgxpool.New(ctx, primary)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.Close)
	wctx, stopWriter := context.WithCancel(ctx)
	var inserted atomic.Int64
	var writer sync.WaitGroup
	t.Cleanup(func() { stopWriter(); writer.Wait() })
	writer.Add(1)
	go func() {
		defer writer.Done()
		for _, id := range fresh {
			for wctx.Err() == nil {
				ictx, cancel := context.WithTimeout(wctx, 5*time.Second)
				_, err := w.Exec(ictx, `INSERT INTO items (id, t) VALUES ($1, $2) ON CONFLICT (id) DO NOTHING`, id, time.Date(2021, 1, 1, 0, 0, 0, 0, time.UTC))
				cancel()
				if err == nil {
					inserted.Add(1)
					break
				}
				time.Sleep(100 * time.Millisecond) // the primary restarts
			}
			select {
			case <-wctx.Done():
				return
			case <-time.After(3 * time.Millisecond):
			}
		}
	}()

	sql := func(db *pgtest.Server, q string) error {
		qctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		conn, err := pgx.Connect(qctx, db.URL("postgres"))
		if err != nil {
			return err
		}
		defer conn.Close(qctx)
		_, err = conn.Exec(qctx, q)
		return err
	}
	var faults []fault
	for i, n := range nodes {
		faults = append(faults, fault{fmt.Sprintf("kill -9 node %d and start it again", i),
			func() error { n.kill(); return nil }, n.start})
	}
	faults = append(faults,
		fault{"stop the replica and start it again",
			func() error { rep.Stop(t); return nil }, func() error { rep.Start(t); return nil }},
		fault{"pause the replica's replay and resume it",
			func() error { return sql(rep, "SELECT pg_wal_replay_pause()") },
			func() error { return sql(rep, "SELECT pg_wal_replay_resume()") }},
		fault{"restart the primary",
			func() error { pg.Stop(t); return nil }, func() error { pg.Start(t); return nil }},
		// Pages go on from the replica while the primary restarts; with
		// both away the clients meet folio's 503.
		fault{"stop the replica and the primary, start both",
			func() error { rep.Stop(t); pg.Stop(t); return nil }, func() error { pg.Start(t); rep.Start(t); return nil }},
	)

	client := &http.Client{Timeout: 60 * time.Second}
	seen := map[string]int{}
	// Faults are dealt from shuffled decks, so that every kind strikes in
	// every len(faults) rounds, in a random order.
	var deck []int
	var retries atomic.Int64
	for round := range rounds {
		if len(deck) == 0 {
			deck = rng.Perm(len(faults))
		}
		f := faults[deck[0]]
		deck = deck[1:]
		delay := time.Duration(100+rng.IntN(400)) * time.Millisecond
		hold := time.Duration(300+rng.IntN(1500)) * time.Millisecond
		seen[f.name]++
		// The harvests pace their pages to last past the repair, so that
		// the fault and the repair both fall inside them; a harvest has at
		// least this many pages, since rows are only added.
		pages := (rows + int(inserted.Load())) / limit
		pace := (delay + hold + 500*time.Millisecond) / time.Duration(pages)

		rctx, stopRound := context.WithCancel(ctx)
		var wg sync.WaitGroup
		errs := make(chan error, 8)
		type result struct {
			asc   bool
			got   []int64
			start time.Time
			end   time.Time
		}
		results := make(chan result, 2)
		for _, asc := range []bool{true, false} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				r := result{asc: asc, start: time.Now()}
				var err error
				r.got, err = chaosHarvest(rctx, client, base, asc, limit, pace, &retries)
				r.end = time.Now()
				if err != nil {
					errs <- fmt.Errorf("harvest (ascending %v): %w", asc, err)
				}
				results <- r
			}()
		}
		wg.Add(1)
		var probes atomic.Int64
		go func() {
			defer wg.Done()
			prng := mrand.New(mrand.NewPCG(seed, uint64(round)))
			for rctx.Err() == nil {
				link := fmt.Sprintf("%s/v1/items?a[gte]=%d&s[prefix]=%c&limit=%d", base, prng.IntN(100)-50, 'a'+prng.IntN(26), 1+prng.IntN(20))
				_, n, err := get(client, link)
				retries.Add(int64(n))
				if err != nil {
					errs <- fmt.Errorf("prober: %w", err)
					return
				}
				probes.Add(1)
				time.Sleep(10 * time.Millisecond)
			}
		}()

		time.Sleep(delay)
		applied := time.Now()
		if err := f.apply(); err != nil {
			t.Fatalf("round %d: %s: %v", round, f.name, err)
		}
		time.Sleep(hold)
		if err := f.undo(); err != nil {
			t.Fatalf("round %d: %s (repair): %v", round, f.name, err)
		}
		repaired := time.Now()
		var harvests []result
		for range 2 {
			harvests = append(harvests, <-results)
		}
		stopRound()
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Errorf("round %d (%s): %v", round, f.name, err)
		}
		if t.Failed() {
			for i, n := range nodes {
				t.Logf("node %d's log ends:\n%s", i, n.tail())
			}
			t.FailNow()
		}
		for _, h := range harvests {
			if err := checkHarvest(h.got, ids, original, h.asc); err != nil {
				t.Fatalf("round %d (%s): harvest (ascending %v): %v", round, f.name, h.asc, err)
			}
			if !h.start.Before(applied) || h.end.Before(repaired) {
				t.Errorf("round %d (%s): the harvest (%s to %s) did not span the fault (%s to %s)", round, f.name,
					h.start.Format("15:04:05.000"), h.end.Format("15:04:05.000"), applied.Format("15:04:05.000"), repaired.Format("15:04:05.000"))
			}
		}
		t.Logf("round %d: %s after %s for %s: harvests of %d and %d rows, %d probes, %d rows inserted so far, %d 503s retried so far",
			round, f.name, delay, hold, len(harvests[0].got), len(harvests[1].got), probes.Load(), inserted.Load(), retries.Load())
	}
	if inserted.Load() == 0 {
		t.Error("the writer inserted nothing")
	}
	if rounds >= len(faults) && retries.Load() == 0 {
		t.Error("no client met a 503, not even while both databases were down")
	}
	t.Logf("faults: %v", seen)
}

// chaosHarvest follows next links from the first page of items, in id
// order ascending or descending, with get's retries, pausing between
// pages, and returns the ids in the order they came; retries counts the
// 503s it retried.
func chaosHarvest(ctx context.Context, client *http.Client, base string, asc bool, limit int, pace time.Duration, retries *atomic.Int64) ([]int64, error) {
	sort := "id"
	if !asc {
		sort = "-id"
	}
	link := fmt.Sprintf("%s/v1/items?sort=%s&limit=%d", base, sort, limit)
	var got []int64
	for pages := 0; link != ""; pages++ {
		if ctx.Err() != nil {
			return got, ctx.Err()
		}
		if pages > 100000/limit {
			return got, fmt.Errorf("the harvest does not end")
		}
		p, n, err := get(client, link)
		retries.Add(int64(n))
		if err != nil {
			return got, fmt.Errorf("page %d: %w", pages, err)
		}
		for _, r := range p.Data {
			got = append(got, r.ID)
		}
		link = p.Links["next"]
		if link != "" && !strings.HasPrefix(link, base+"/") {
			return got, fmt.Errorf("page %d: next link %s does not point at nginx %s", pages, link, base)
		}
		time.Sleep(pace)
	}
	return got, nil
}

// checkHarvest checks that got runs strictly one way (so holds no id
// twice) and holds every id of want (the rows that existed throughout, in
// ascending order) in that order.
func checkHarvest(got, want []int64, original map[int64]bool, asc bool) error {
	for i := 1; i < len(got); i++ {
		if (asc && got[i] <= got[i-1]) || (!asc && got[i] >= got[i-1]) {
			return fmt.Errorf("id %d after %d (record %d)", got[i], got[i-1], i)
		}
	}
	var kept []int64
	for _, id := range got {
		if original[id] {
			kept = append(kept, id)
		}
	}
	if len(kept) != len(want) {
		return fmt.Errorf("%d of the %d rows that existed throughout, want all", len(kept), len(want))
	}
	for i := range want {
		j := i
		if !asc {
			j = len(want) - 1 - i
		}
		if kept[j] != want[i] {
			return fmt.Errorf("row %d is id %d, want %d", j, kept[j], want[i])
		}
	}
	return nil
}
