package copernica

import (
	"context"
	"errors"
	"math"
	"net/http"
	"slices"
	"strconv"
	"time"

	"folio/engine"
	"folio/wire"
)

// timeLayout is how Copernica writes times ("2013-01-06 14:19:51"); folio
// writes them in UTC.
const timeLayout = "2006-01-02 15:04:05"

// layout says where a page's columns go in a profile: indexes into the row
// of ID, database and the optional properties (-1 when absent), and the
// quoted keys and indexes of the profile's fields.
type layout struct {
	id, database, created, modified, secret, interests int
	keys                                               [][]byte
	idx                                                []int
}

// layout maps the columns of a page or stream (out: the projected ones)
// onto a profile.
func (h *Handler) layout(columns []*engine.Field, out []int) *layout {
	l := &layout{id: -1, database: -1, created: -1, modified: -1, secret: -1, interests: -1}
	for _, j := range out {
		f := columns[j]
		switch h.roles[f] {
		case roleID:
			l.id = j
		case roleDatabase:
			l.database = j
		case roleCreated:
			l.created = j
		case roleModified:
			l.modified = j
		case roleSecret:
			l.secret = j
		case roleInterests:
			l.interests = j
		default:
			l.keys = append(l.keys, h.keys[f])
			l.idx = append(l.idx, j)
		}
	}
	if l.id < 0 {
		// Not projected (it always is today); the nextid still needs it.
		l.id = slices.Index(columns, h.key)
	}
	return l
}

// appendProfile writes one row in Copernica's profile shape:
//
//	{"ID":"18381","fields":{"name":"Test",…},"interests":[],"database":"7616",
//	 "secret":"…","created":"2013-01-06 14:19:51","modified":"…","removed":false}
//
// dataonly keeps ID, fields, interests and modified, as Copernica does.
// A property the collection has no field for is left out, except
// interests, which is [] (a profile without interests).
func (l *layout) appendProfile(b []byte, row engine.Row, dataOnly bool) []byte {
	b = append(b, `{"ID":`...)
	b = appendText(b, row[l.id])
	b = append(b, `,"fields":{`...)
	for i, k := range l.keys {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, k...)
		b = appendText(b, row[l.idx[i]])
	}
	b = append(b, `},"interests":`...)
	if l.interests >= 0 && row[l.interests] != nil {
		b = wire.AppendJSON(b, row[l.interests])
	} else {
		b = append(b, "[]"...)
	}
	if !dataOnly {
		if l.database >= 0 {
			b = append(b, `,"database":`...)
			b = appendText(b, row[l.database])
		}
		if l.secret >= 0 {
			b = append(b, `,"secret":`...)
			b = appendText(b, row[l.secret])
		}
		if l.created >= 0 {
			b = append(b, `,"created":`...)
			b = appendText(b, row[l.created])
		}
	}
	if l.modified >= 0 {
		b = append(b, `,"modified":`...)
		b = appendText(b, row[l.modified])
	}
	if !dataOnly {
		// folio lists only the rows it publishes: none is removed.
		b = append(b, `,"removed":false`...)
	}
	return append(b, '}')
}

// appendText writes a value the way Copernica writes profile values: as a
// string ("ID":"18381", "age":"35"), times as "YYYY-MM-DD hh:mm:ss". NULL
// stays null (Copernica has none; folio does not invent an empty string),
// and booleans, bytes and JSON keep their JSON form.
func appendText(b []byte, v engine.Value) []byte {
	switch x := v.(type) {
	case string:
		return appendString(b, x)
	case int64:
		b = append(b, '"')
		b = strconv.AppendInt(b, x, 10)
		return append(b, '"')
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return append(b, "null"...)
		}
		b = append(b, '"')
		b = strconv.AppendFloat(b, x, 'g', -1, 64)
		return append(b, '"')
	case time.Time:
		b = append(b, '"')
		b = x.UTC().AppendFormat(b, timeLayout)
		return append(b, '"')
	}
	return wire.AppendJSON(b, v)
}

func appendString(b []byte, s string) []byte { return wire.AppendString(b, s) }

// appendHead writes the envelope up to the data array.
func appendHead(b []byte, r *request, total *engine.Total, count int) []byte {
	b = append(b, `{"start":`...)
	b = strconv.AppendInt(b, int64(r.start), 10)
	b = append(b, `,"limit":`...)
	b = strconv.AppendInt(b, int64(r.limit), 10)
	b = append(b, `,"count":`...)
	b = strconv.AppendInt(b, int64(count), 10)
	if total != nil {
		b = append(b, `,"total":`...)
		b = strconv.AppendInt(b, total.Count, 10)
	}
	return append(b, `,"data":[`...)
}

// appendNextID writes nextid, the ID the next page starts at: a number, as
// in Copernica's documentation, when the key is an integer.
func appendNextID(b []byte, v engine.Value) []byte {
	b = append(b, `,"nextid":`...)
	return wire.AppendJSON(b, v)
}

func (r *request) totalMode() engine.TotalMode {
	if r.total {
		return engine.TotalExact
	}
	return engine.TotalNone
}

// servePage answers the non-streaming variant: one page, with a
// Content-Length, as api.copernica.com does.
func (h *Handler) servePage(w http.ResponseWriter, hr *http.Request, r *request) {
	if r.limit == 0 {
		h.serveCount(w, hr, r)
		return
	}
	p, err := h.e.Page(hr.Context(), h.c, r.query, engine.Window{Limit: r.limit, At: engine.Offset(r.start)}, r.totalMode())
	if errors.Is(err, engine.ErrOffsetTooDeep) {
		// The engine's limit, in Copernica's terms: its clients page by ID.
		err = engine.Invalidf(paramStart, "start+limit may reach only the first %d profiles (start %d + limit %d); to go deeper, sort by id and continue with fields[]=ID>=<nextid> (ID<=<nextid> in descending order), or use the streaming host", h.c.MaxOffset, r.start, r.limit)
	}
	if err != nil {
		h.errs.Error(w, hr, names.Name(err))
		return
	}
	l := h.layout(p.Columns, p.Fields)

	bp := h.bufs.Get()
	defer h.bufs.Put(bp)
	b := appendHead((*bp)[:0], r, p.Total, len(p.Rows))
	for i, row := range p.Rows {
		if i > 0 {
			b = append(b, ',')
		}
		b = l.appendProfile(b, row, r.dataOnly)
	}
	b = append(b, ']')
	if r.byID && p.Lookahead != nil {
		b = appendNextID(b, p.Lookahead[l.id])
	}
	b = append(b, "}\n"...)
	*bp = b

	writeJSON(w, b)
}

// serveCount answers limit=0 on the page host: no profiles, the total
// when asked for.
func (h *Handler) serveCount(w http.ResponseWriter, hr *http.Request, r *request) {
	total, err := h.total(hr.Context(), r)
	if err != nil {
		h.errs.Error(w, hr, names.Name(err))
		return
	}
	b := appendHead(nil, r, total, 0)
	writeJSON(w, append(b, "]}\n"...))
}

// total counts the profiles r selects when r asks for the total, and
// otherwise only checks the query, so that a bad one is still a 400.
func (h *Handler) total(ctx context.Context, r *request) (*engine.Total, error) {
	if !r.total {
		return nil, h.e.Check(ctx, h.c, r.query)
	}
	t, err := h.e.Total(ctx, h.c, r.query, engine.TotalExact)
	if err != nil {
		return nil, err
	}
	return &t, nil
}

// writeJSON sends a complete JSON body.
func writeJSON(w http.ResponseWriter, b []byte) {
	hd := w.Header()
	hd.Set("Content-Type", "application/json")
	hd.Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(http.StatusOK)
	w.Write(b)
}

// errEnough stops a stream once it has sent count rows, and seen the row
// after them when that row names nextid.
var errEnough = errors.New("copernica: stream limit reached")

// errChanged cuts a stream that found fewer rows than it announced: rows
// were deleted between the count and the read. The connection is dropped
// (no final chunk), so that the client cannot take the document for a
// complete one and asks again.
var errChanged = errors.New("copernica: fewer rows than the count announced; the data changed meanwhile")

// serveStream answers the streaming variant (rest.copernica.com): any
// limit, rows written as the database produces them, chunked, in constant
// memory, in the envelope of the page host, keys in the same order:
// start, limit, count, total, data, nextid. count precedes the rows, so it
// is known before they are read: from the total when the request asks for
// one (min(limit, total-start)), otherwise from a first pass over the
// window that counts its rows and keeps none. The rows are then read in a
// second statement, at most count of them; if the data changed between the
// two and fewer arrive, the response is cut rather than ended with a count
// that does not match its data.
func (h *Handler) serveStream(w http.ResponseWriter, hr *http.Request, r *request) {
	ctx := hr.Context()
	// Counted (or at least checked) first, so that a bad query is a 400
	// before any byte.
	total, err := h.total(ctx, r)
	if err != nil {
		h.errs.Error(w, hr, names.Name(err))
		return
	}
	count, err := h.streamCount(ctx, r, total)
	if err != nil {
		h.errs.Error(w, hr, names.Name(err))
		return
	}
	var (
		s    *wire.Stream
		l    *layout
		sent int
		next engine.Value
	)
	start := func(columns []*engine.Field, out []int) error {
		l = h.layout(columns, out)
		s = wire.NewStream(w, "application/json")
		s.Buf = appendHead(s.Buf, r, total, count)
		return nil
	}
	emit := func(row engine.Row) error {
		if sent == count {
			next = cloneValue(row[l.id])
			return errEnough
		}
		if sent > 0 {
			s.Buf = append(s.Buf, ',')
		}
		sent++
		s.Buf = l.appendProfile(s.Buf, row, r.dataOnly)
		return s.Row()
	}
	if count == 0 {
		err = start(nil, nil)
	} else {
		span := engine.Span{Limit: count, From: engine.Offset(r.start)}
		if r.byID && count == r.limit && count < math.MaxInt {
			span.Limit++ // a full page: the row after the last one names nextid
		}
		err = h.e.Stream(ctx, h.c, r.query, span, start, emit)
	}
	if err != nil && !errors.Is(err, errEnough) {
		h.errs.Stream(w, hr, s, names.Name(err))
		return
	}
	if sent < count {
		s.Flush()
		h.errs.Abort(hr, errChanged)
	}
	s.Buf = append(s.Buf, ']')
	if next != nil {
		s.Buf = appendNextID(s.Buf, next)
	}
	s.Buf = append(s.Buf, "}\n"...)
	if err := s.Flush(); err != nil && ctx.Err() == nil {
		h.log.DebugContext(ctx, "copernica stream: client went away", "err", err)
	}
}

// streamCount is the count of a streamed response: the rows of the window
// start, limit. With a total it is computed; without one, a pass over the
// window counts the rows, reading only their IDs. That costs at most the
// window, where a COUNT would cost the whole result, and it keeps
// total=false free of the COUNT the client asked to skip.
func (h *Handler) streamCount(ctx context.Context, r *request, total *engine.Total) (int, error) {
	if r.limit == 0 {
		return 0, nil
	}
	if total != nil {
		return int(max(0, min(int64(r.limit), total.Count-int64(r.start)))), nil
	}
	q := r.query
	q.Fields = []string{h.key.Name}
	n := 0
	err := h.e.Stream(ctx, h.c, q, engine.Span{Limit: r.limit, From: engine.Offset(r.start)},
		func([]*engine.Field, []int) error { return nil },
		func(engine.Row) error { n++; return nil })
	return n, err
}

// cloneValue copies a value out of a row the source may reuse.
func cloneValue(v engine.Value) engine.Value {
	if b, ok := v.([]byte); ok {
		return slices.Clone(b)
	}
	return v
}
