// Package copernica serves a collection the way Copernica's REST API v2
// serves the profiles of a database: GET {path}/database/{id}/profiles with
// start/limit offset paging, an optional total, fields[] conditions, orderby
// and order, and the envelope {start, limit, count, total, data, nextid}.
// Mounted with the option stream=true it stands for Copernica's second host
// (rest.copernica.com): any limit, the same envelope written as rows arrive,
// chunked and in constant memory. It maps parameters onto the engine and
// renders its pages; it holds no paging logic of its own.
package copernica

import (
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"folio/config"
	"folio/engine"
	"folio/httperr"
	"folio/wire"
)

// Mount options.
const (
	// OptionStream ("true" or "false", default false) selects the streaming
	// variant: no cap on limit, chunked responses.
	OptionStream = "stream"
	// OptionDatabaseField names the collection field that the {id} in the
	// path selects (default "database_id"); it is rendered as "database".
	OptionDatabaseField = "database_field"
	// OptionMaxLimit is the silent cap on limit of the non-streaming variant
	// (default 1000, as on api.copernica.com; at most the collection's
	// max_limit).
	OptionMaxLimit = "max_limit"
)

// DefaultMaxLimit is Copernica's cap on objects per call.
const DefaultMaxLimit = 1000

// DefaultLimit is the page size when a request names none.
const DefaultLimit = 100

// defaultDatabaseField is the demo profiles' database column.
const defaultDatabaseField = "database_id"

// Profile properties besides ID, database and the profile's own fields.
// A mount maps them with its fields map like any other name; when it does
// not, a collection field of the same name takes the part.
const (
	propCreated   = "created"
	propModified  = "modified"
	propSecret    = "secret"
	propInterests = "interests"
)

// role is the part a collection field plays in a rendered profile.
type role int

const (
	roleField     role = iota // under "fields"
	roleID                    // "ID": the collection key
	roleDatabase              // "database"
	roleCreated               // "created"
	roleModified              // "modified"
	roleSecret                // "secret"
	roleInterests             // "interests"
)

// Handler serves one Copernica mount.
type Handler struct {
	e        *engine.Engine
	c        *engine.Collection
	path     string
	stream   bool
	maxLimit int // 0: no cap (streaming)
	log      *slog.Logger
	errs     httperr.Writer
	mux      *http.ServeMux
	bufs     wire.Buffers // *[]byte response buffers

	key, database *engine.Field
	// props are the fields playing the optional profile properties, or nil.
	created, modified, secret, interests *engine.Field
	// names maps Copernica field names to collection field names (the
	// mount's fields map).
	names map[string]string
	// roles and keys say, for every visible field, where a profile shows it
	// and, for profile fields, under which quoted key.
	roles map[*engine.Field]role
	keys  map[*engine.Field][]byte
}

// New returns the handler of a Copernica mount. It checks the mount: the
// collection exists and has a key, the database field and every fields-map
// target exist, and every option is known and well-formed.
func New(e *engine.Engine, m config.Mount, log *slog.Logger) (http.Handler, error) {
	if log == nil {
		log = slog.Default()
	}
	c, err := e.Collection(m.Collection)
	if err != nil {
		return nil, fmt.Errorf("copernica mount %s: %w", m.Path, err)
	}
	h := &Handler{
		e: e, c: c, path: strings.TrimSuffix(m.Path, "/"), log: log, mux: http.NewServeMux(),
		names: map[string]string{}, roles: map[*engine.Field]role{}, keys: map[*engine.Field][]byte{},
	}
	h.errs = httperr.Writer{Shape: shape{}, Log: log, Statuses: statuses}
	if err := h.options(m.Options); err != nil {
		return nil, fmt.Errorf("copernica mount %s: %w", m.Path, err)
	}
	if err := h.fields(m.Fields); err != nil {
		return nil, fmt.Errorf("copernica mount %s: %w", m.Path, err)
	}
	h.mux.HandleFunc("GET "+h.path+"/database/{id}/profiles", h.serveProfiles)
	h.mux.HandleFunc(h.path+"/database/{id}/profiles", h.serveMethod)
	h.mux.HandleFunc(h.path+"/", h.serveUnknown)
	h.mux.HandleFunc(h.path, h.serveUnknown)
	return h, nil
}

// options reads the mount's options.
func (h *Handler) options(opts map[string]string) error {
	dbField := defaultDatabaseField
	h.maxLimit = min(DefaultMaxLimit, h.c.MaxLimit)
	for _, k := range slices.Sorted(maps.Keys(opts)) {
		v := opts[k]
		switch k {
		case OptionStream:
			b, err := strconv.ParseBool(v)
			if err != nil {
				return fmt.Errorf("option %s: want true or false, got %q", k, v)
			}
			h.stream = b
		case OptionDatabaseField:
			dbField = v
		case OptionMaxLimit:
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 {
				return fmt.Errorf("option %s: want a whole number of 1 or more, got %q", k, v)
			}
			if n > h.c.MaxLimit {
				return fmt.Errorf("option %s: %d exceeds collection %q's max_limit %d", k, n, h.c.Name, h.c.MaxLimit)
			}
			h.maxLimit = n
		default:
			return fmt.Errorf("unknown option %q (known: %s, %s, %s)", k, OptionStream, OptionDatabaseField, OptionMaxLimit)
		}
	}
	if h.stream {
		h.maxLimit = 0
	}
	h.key = h.c.KeyField()
	if h.key == nil {
		return fmt.Errorf("collection %q has no key of one field: Copernica's ID and nextid need one", h.c.Name)
	}
	h.database = h.c.Field(dbField)
	switch {
	case h.database == nil:
		return fmt.Errorf("option %s: collection %q has no field %q", OptionDatabaseField, h.c.Name, dbField)
	case !h.database.Filterable || !h.database.Type.Scalar():
		return fmt.Errorf("option %s: field %q is not filterable", OptionDatabaseField, dbField)
	case h.database == h.key:
		return fmt.Errorf("option %s: field %q is the key, which is the profile ID", OptionDatabaseField, dbField)
	}
	return nil
}

// fields reads the mount's fields map and assigns every visible field its
// place in a profile.
func (h *Handler) fields(m map[string]string) error {
	shown := map[*engine.Field]string{} // collection field → Copernica name
	for _, name := range slices.Sorted(maps.Keys(m)) {
		target := m[name]
		f := h.c.Field(target)
		switch {
		case name == "":
			return fmt.Errorf("fields: empty name mapped to %q", target)
		case f == nil:
			return fmt.Errorf("fields: %q maps to %q, which collection %q does not have", name, target, h.c.Name)
		case strings.EqualFold(name, "id"):
			return fmt.Errorf("fields: %q cannot be mapped: the profile ID is always the collection key", name)
		case name == "database":
			return fmt.Errorf("fields: %q cannot be mapped: set option %s instead", name, OptionDatabaseField)
		}
		if prev, dup := shown[f]; dup {
			return fmt.Errorf("fields: %q and %q both map to %q", prev, name, target)
		}
		shown[f] = name
		h.names[name] = target
	}
	prop := func(name string) *engine.Field {
		if t, ok := m[name]; ok {
			return h.c.Field(t)
		}
		if f := h.c.Field(name); f != nil {
			if _, mapped := shown[f]; !mapped {
				return f
			}
		}
		return nil
	}
	h.created, h.modified, h.secret, h.interests = prop(propCreated), prop(propModified), prop(propSecret), prop(propInterests)
	h.roles[h.key] = roleID
	h.roles[h.database] = roleDatabase
	for _, p := range []struct {
		f *engine.Field
		r role
	}{{h.created, roleCreated}, {h.modified, roleModified}, {h.secret, roleSecret}, {h.interests, roleInterests}} {
		if p.f == nil {
			continue
		}
		if _, taken := h.roles[p.f]; taken {
			return fmt.Errorf("fields: %q plays two parts in a profile", p.f.Name)
		}
		h.roles[p.f] = p.r
	}
	if h.interests != nil && h.interests.Type != engine.TypeJSON {
		return fmt.Errorf("fields: interests maps to %q, which is not a JSON array field", h.interests.Name)
	}
	for _, f := range h.c.Visible() {
		if _, ok := h.roles[f]; ok {
			continue
		}
		h.roles[f] = roleField
		name := f.Name
		if n, ok := shown[f]; ok {
			name = n
		}
		h.keys[f] = append(appendString(nil, name), ':')
	}
	return nil
}

// ServeHTTP routes a request under the mount's path.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) { h.mux.ServeHTTP(w, r) }

// serveMethod answers the profiles resource with a method other than GET:
// folio publishes, it does not create or change profiles.
func (h *Handler) serveMethod(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Allow", "GET, HEAD")
	h.errs.Error(w, r, &engine.Error{Code: engine.CodeMethodNotAllowed, Message: "Invalid method: " + r.Method + " is not supported; this API is read-only"})
}

// serveUnknown answers every other path with Copernica's own message.
func (h *Handler) serveUnknown(w http.ResponseWriter, r *http.Request) {
	h.errs.Error(w, r, &engine.Error{Code: engine.CodeNotFound, Message: "Invalid method"})
}

func (h *Handler) serveProfiles(w http.ResponseWriter, r *http.Request) {
	req, err := h.parse(r.PathValue("id"), r.URL.RawQuery)
	if err != nil {
		h.errs.Error(w, r, names.Name(err))
		return
	}
	if h.stream {
		h.serveStream(w, r, req)
		return
	}
	h.servePage(w, r, req)
}
