package native

import (
	"context"
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
func (h *Handler) exportTarget(ctx context.Context, name string) (*engine.Collection, export.Format, bool) {
	if _, err := h.e.CollectionFor(ctx, name); err == nil {
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
	c, err := h.e.CollectionFor(ctx, name[:i])
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
		h.errs.Error(w, r, malformed(r.URL.RawQuery, err))
		return
	}
	req, err := parseExport(c, q)
	if err != nil {
		h.errs.Error(w, r, err)
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
	err = h.e.Stream(ctx, c, req.query, engine.Span{Limit: req.window.Limit}, start, emit)
	switch {
	case errors.Is(err, errHead):
		w.WriteHeader(http.StatusOK)
		return
	case err != nil:
		h.errs.Stream(w, r, s, req.name(c, err))
		return
	}
	s.Buf = enc.Tail(s.Buf)
	if err := s.Flush(); err != nil {
		h.log.DebugContext(ctx, "export: the client went away at the end", "path", r.URL.Path, "err", err)
	}
}
