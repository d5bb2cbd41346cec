package native

import (
	"errors"
	"mime"
	"net/http"
	"net/url"
	"strings"

	"folio/engine"
	"folio/export"
	"folio/wire"
)

// exportTarget reads an export's path segment, "{collection}.{format}"
// (the Datasette convention), when name is not itself a collection: a
// collection whose name has a dot stays reachable, and its export is
// "{name}.{format}" all the same ("a.b.csv" exports "a.b").
func (h *Handler) exportTarget(name string) (*engine.Collection, export.Format, bool) {
	if _, err := h.e.Collection(name); err == nil {
		return nil, "", false
	}
	i := strings.LastIndexByte(name, '.')
	if i < 0 {
		return nil, "", false
	}
	f, err := export.ParseFormat(name[i+1:])
	if err != nil {
		return nil, "", false
	}
	c, err := h.e.Collection(name[:i])
	if err != nil {
		return nil, "", false
	}
	return c, f, true
}

// errHead ends the stream of a HEAD request once its headers are known.
var errHead = errors.New("native: HEAD export")

// serveExport answers GET {path}/{collection}.{ndjson,csv,json}: the whole
// filtered, sorted, projected result, streamed with chunked transfer as the
// database produces it, in constant memory. A bad request is a 400 in the
// native error shape; an error after the first byte has been sent drops
// the connection, so that the client sees a broken transfer rather than a
// short file that looks complete. A client that goes away stops the query:
// the failed write returns from emit, which ends the engine's stream.
func (h *Handler) serveExport(w http.ResponseWriter, r *http.Request, c *engine.Collection, f export.Format) {
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		h.writeError(w, r, malformed(r.URL.RawQuery, err), 0)
		return
	}
	req, err := parseExport(c, q)
	if err != nil {
		h.writeError(w, r, err, 0)
		return
	}
	ctx := r.Context()
	var (
		s   *wire.Stream
		enc *export.Encoder
	)
	start := func(columns []*engine.Field, out []int) error {
		enc = export.NewEncoder(f, columns, out)
		s = wire.NewStream(w, f.ContentType())
		if f == export.CSV {
			w.Header().Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": c.Name + ".csv"}))
		}
		if r.Method == http.MethodHead {
			return errHead
		}
		s.Buf = enc.Head(s.Buf)
		return nil
	}
	emit := func(row engine.Row) error {
		s.Buf = enc.Row(s.Buf, row)
		return s.Row()
	}
	err = h.e.Stream(ctx, c, req.query, engine.Window{Limit: req.window.Limit}, start, emit)
	switch {
	case errors.Is(err, errHead):
		w.WriteHeader(http.StatusOK)
		return
	case err != nil && (s == nil || s.Written() == 0):
		w.Header().Del("Content-Disposition")
		w.Header().Del("X-Content-Type-Options")
		h.writeError(w, r, req.paramError(err), 0)
		return
	case err != nil:
		if ctx.Err() != nil {
			h.log.DebugContext(ctx, "export stopped: the client went away", "path", r.URL.Path, "rows", enc.Rows(), "err", err)
		} else {
			h.log.ErrorContext(ctx, "export failed after it began; dropping the connection", "path", r.URL.Path, "rows", enc.Rows(), "err", err)
		}
		// Without the final chunk, the client sees a broken transfer.
		panic(http.ErrAbortHandler)
	}
	s.Buf = enc.Tail(s.Buf)
	if err := s.Flush(); err != nil {
		h.log.DebugContext(ctx, "export: the client went away at the end", "path", r.URL.Path, "err", err)
	}
}
