package bench

import (
	"database/sql"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	_ "github.com/mattn/go-sqlite3" // the baseline talks to SQLite directly, as a hand-written service would
)

// bareColumns are the entries columns in the order folio selects them.
const bareColumns = `+"entry_id", +"upload_id", +"upload_create_time", +"entry_create_time", +"formula", +"elements", +"n_elements", +"n_atoms", +"band_gap", +"method", +"program_name", +"public"`

// bareHandler is the baseline for the throughput figure: a net/http handler
// written by hand for one collection and one sort, that runs the same SQL
// folio runs for /v1/entries?limit=N (and its keyset continuation) and
// writes the same JSON envelope, with none of folio's generality: no
// validation beyond the limit, no signed cursors, no links header.
func bareHandler(tb testing.TB, path string) http.Handler {
	db, err := sql.Open("sqlite3", "file:"+path+"?mode=ro&_busy_timeout=5000")
	if err != nil {
		tb.Fatal(err)
	}
	db.SetMaxOpenConns(4)
	db.SetMaxIdleConns(4)
	tb.Cleanup(func() { db.Close() })
	first := `SELECT ` + bareColumns + ` FROM "entries" ORDER BY "upload_create_time" DESC, "entry_id" DESC LIMIT ?`
	after := `SELECT ` + bareColumns + ` FROM "entries" WHERE "upload_create_time" <= ? AND (("upload_create_time" < ?) OR ("upload_create_time" = ? AND "entry_id" < ?)) ORDER BY "upload_create_time" DESC, "entry_id" DESC LIMIT ?`

	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		limit, err := strconv.Atoi(q.Get("limit"))
		if err != nil || limit < 1 || limit > 1000 {
			http.Error(w, `{"error":"bad limit"}`, http.StatusBadRequest)
			return
		}
		var rows *sql.Rows
		if c := q.Get("after"); c != "" {
			t, id, _ := strings.Cut(c, ",")
			rows, err = db.QueryContext(r.Context(), after, t, t, t, id, limit+1)
		} else {
			rows, err = db.QueryContext(r.Context(), first, limit+1)
		}
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		defer rows.Close()
		b := make([]byte, 0, 64<<10)
		b = append(b, `{"data":[`...)
		var (
			entryID, uploadID, uct, ect, formula, elements, method, program sql.RawBytes
			nElements, nAtoms                                               int64
			bandGap                                                         sql.NullFloat64
			public                                                          bool
			n                                                               int
			lastT, lastID                                                   string
			more                                                            bool
		)
		for rows.Next() {
			if n == limit {
				more = true
				break
			}
			if err := rows.Scan(&entryID, &uploadID, &uct, &ect, &formula, &elements, &nElements, &nAtoms, &bandGap, &method, &program, &public); err != nil {
				http.Error(w, err.Error(), http.StatusInternalServerError)
				return
			}
			if n > 0 {
				b = append(b, ',')
			}
			n++
			b = append(b, `{"entry_id":`...)
			b = strconv.AppendQuote(b, string(entryID))
			b = append(b, `,"upload_id":`...)
			b = strconv.AppendQuote(b, string(uploadID))
			b = append(b, `,"upload_create_time":`...)
			b = strconv.AppendQuote(b, string(uct))
			b = append(b, `,"entry_create_time":`...)
			b = strconv.AppendQuote(b, string(ect))
			b = append(b, `,"formula":`...)
			b = strconv.AppendQuote(b, string(formula))
			b = append(b, `,"elements":`...)
			b = append(b, elements...)
			b = append(b, `,"n_elements":`...)
			b = strconv.AppendInt(b, nElements, 10)
			b = append(b, `,"n_atoms":`...)
			b = strconv.AppendInt(b, nAtoms, 10)
			b = append(b, `,"band_gap":`...)
			if bandGap.Valid {
				b = strconv.AppendFloat(b, bandGap.Float64, 'g', -1, 64)
			} else {
				b = append(b, "null"...)
			}
			b = append(b, `,"method":`...)
			b = strconv.AppendQuote(b, string(method))
			b = append(b, `,"program_name":`...)
			b = strconv.AppendQuote(b, string(program))
			b = append(b, `,"public":`...)
			b = strconv.AppendBool(b, public)
			b = append(b, '}')
			lastT, lastID = string(uct), string(entryID)
		}
		if err := rows.Err(); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		b = append(b, `],"page":{"limit":`...)
		b = strconv.AppendInt(b, int64(limit), 10)
		b = append(b, `,"count":`...)
		b = strconv.AppendInt(b, int64(n), 10)
		next := ""
		if more {
			next = "?limit=" + strconv.Itoa(limit) + "&after=" + url.QueryEscape(lastT+","+lastID)
			b = append(b, `,"next_cursor":`...)
			b = strconv.AppendQuote(b, lastT+","+lastID)
		}
		b = append(b, `},"links":{"self":`...)
		b = strconv.AppendQuote(b, r.URL.String())
		if next != "" {
			b = append(b, `,"next":`...)
			b = strconv.AppendQuote(b, next)
		}
		b = append(b, "}}\n"...)
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Content-Length", strconv.Itoa(len(b)))
		w.Write(b)
	})
}
