package native

import (
	"errors"
	"log/slog"
	"net/http"
	"strconv"

	"folio/engine"
	"folio/httperr"
	"folio/wire"
)

// params names the engine's parameters on the native API's wire.
var params = map[engine.Param]string{
	engine.ParamLimit:  paramLimit,
	engine.ParamOffset: paramOffset,
	engine.ParamCursor: paramCursor,
	engine.ParamSort:   paramSort,
	engine.ParamFields: paramFields,
	engine.ParamTotal:  paramTotal,
}

// shape is the native error shape:
//
//	{"error":{"status":400,"code":"invalid_parameter","parameter":"limit","message":"…"}}
type shape struct{}

// ErrorBody renders err (httperr.Shape).
func (shape) ErrorBody(_ *http.Request, status int, err error) (string, []byte) {
	e, ok := engine.AsError(err)
	if !ok {
		e = &engine.Error{Code: engine.CodeInternal, Message: err.Error()}
	}
	b := append([]byte(nil), `{"error":{"status":`...)
	b = strconv.AppendInt(b, int64(status), 10)
	b = append(b, `,"code":`...)
	b = wire.AppendString(b, string(e.Code))
	if e.Parameter != "" {
		b = append(b, `,"parameter":`...)
		b = wire.AppendString(b, e.Parameter)
	}
	b = append(b, `,"message":`...)
	b = wire.AppendString(b, e.Detail())
	b = append(b, "}}\n"...)
	return "application/json", b
}

// Errors returns the writer that answers the native API's failures, for
// the server's body limit and panic recovery on the mount.
func (h *Handler) Errors() *httperr.Writer { return &h.errs }

// Errors returns a writer that answers in the native error shape, folio's
// own, for failures outside any mount.
func Errors(log *slog.Logger) *httperr.Writer { return &httperr.Writer{Shape: shape{}, Log: log} }

// name names the parameter at fault in an engine error as the request
// carried it (a filter by its field[op] parameter) and adds the way out
// the native API offers.
func (r *request) name(c *engine.Collection, err error) error {
	err = engine.Names{Params: params, Filter: func(field string) string {
		if name := r.filterParams[field]; name != "" {
			return name
		}
		return field
	}}.Name(err)
	if e, ok := engine.AsError(err); ok && errors.Is(e, engine.ErrOffsetTooDeep) && e.Hint == "" {
		c2 := *e
		c2.Hint = offsetHint(c)
		return &c2
	}
	return err
}

// offsetHint is what a client whose offset is too deep can do instead.
func offsetHint(c *engine.Collection) string {
	if !c.Keyed() {
		return "narrow the query with filters"
	}
	return "use cursor paging (follow the next link without offset)"
}
