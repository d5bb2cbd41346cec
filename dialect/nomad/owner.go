package nomad

import (
	"context"
	"fmt"
	"net/http"
	"slices"

	"folio/engine"
)

// Owner options: the fields NOMAD's owner values other than "public"
// are read from. Without OptionOwnerField those values cannot be served.
const (
	// OptionOwnerField names the text field that holds the subject of the
	// entry's owner (NOMAD's main author or uploader).
	OptionOwnerField = "owner_field"
	// OptionSharedField names the JSON array field of the subjects the
	// entry is shared with (NOMAD's coauthors and reviewers).
	OptionSharedField = "shared_field"
	// OptionEmbargoField names the boolean field that is true while an
	// entry is under embargo: owner "public" leaves such entries out.
	OptionEmbargoField = "embargo_field"
)

// adminRole is the role owner "admin" needs.
const adminRole = "admin"

// ownership holds the fields owner values are mapped onto.
type ownership struct {
	owner, shared, embargo *engine.Field // nil when not configured
}

func newOwnership(c *engine.Collection, opts map[string]string) (ownership, error) {
	var o ownership
	for opt, dst := range map[string]**engine.Field{OptionOwnerField: &o.owner, OptionSharedField: &o.shared, OptionEmbargoField: &o.embargo} {
		name, ok := opts[opt]
		if !ok {
			continue
		}
		f := c.Field(name)
		if f == nil || !f.Filterable {
			return o, fmt.Errorf("option %s: collection %q has no visible, filterable field %q", opt, c.Name, name)
		}
		want := map[string]engine.Type{OptionOwnerField: engine.TypeText, OptionSharedField: engine.TypeJSON, OptionEmbargoField: engine.TypeBool}[opt]
		if f.Type != want {
			return o, fmt.Errorf("option %s: field %q must be of type %v, is %v", opt, name, want, f.Type)
		}
		*dst = f
	}
	if o.shared != nil && o.owner == nil {
		return o, fmt.Errorf("option %s needs option %s", OptionSharedField, OptionOwnerField)
	}
	return o, nil
}

// scope returns the filters owner stands for, as NOMAD reads it, for the
// request's principal, or NOMAD's 401 when the principal may not use it.
// The collection's access rule still applies on top, in the engine: owner
// narrows what a principal sees, never widens it.
func (h *Handler) scope(ctx context.Context, owner string) ([]engine.Filter, *apiError) {
	var public []engine.Filter
	if h.public != nil {
		public = append(public, engine.Filter{Field: h.public.Name, Op: engine.OpEq, Values: []engine.Value{true}})
	}
	if h.own.embargo != nil {
		public = append(public, engine.Filter{Field: h.own.embargo.Name, Op: engine.OpNe, Values: []engine.Value{true}})
	}
	if owner == ownerPublic {
		return public, nil
	}
	p := engine.PrincipalOf(ctx)
	if p.Anonymous() {
		return nil, &apiError{status: http.StatusUnauthorized, detail: fmt.Sprintf("Authentication required for owner value %s", owner)}
	}
	if owner == "admin" {
		if !slices.Contains(p.Roles, adminRole) {
			return nil, &apiError{status: http.StatusUnauthorized, detail: "This can only be used by the admin user."}
		}
		return nil, nil
	}
	if h.own.owner == nil {
		return nil, &apiError{status: http.StatusUnauthorized, detail: fmt.Sprintf("owner %q is not served here: this mount names no owner field (option %s)", owner, OptionOwnerField)}
	}
	mine := []engine.Filter{{Field: h.own.owner.Name, Op: engine.OpEq, Values: []engine.Value{p.Subject}}}
	sharedWithMe := mine
	if h.own.shared != nil {
		sharedWithMe = []engine.Filter{{Op: engine.OpOr, Sub: [][]engine.Filter{
			mine, {{Field: h.own.shared.Name, Op: engine.OpAny, Values: []engine.Value{p.Subject}}},
		}}}
	}
	switch owner {
	case "user":
		return mine, nil
	case "shared":
		return sharedWithMe, nil
	case "staging":
		if h.public == nil {
			return []engine.Filter{h.nothing()}, nil // every entry is published
		}
		return append(mine, engine.Filter{Field: h.public.Name, Op: engine.OpEq, Values: []engine.Value{false}}), nil
	}
	// visible, all: what is public and what is the user's or shared with them.
	if len(public) == 0 {
		return nil, nil
	}
	return []engine.Filter{{Op: engine.OpOr, Sub: [][]engine.Filter{public, sharedWithMe}}}, nil
}
