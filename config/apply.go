package config

import (
	"fmt"
	"slices"

	"folio/engine"
)

// Apply returns copies of the discovered collections with the configuration
// applied, those it excludes left out; cols are left untouched. A
// collection or field the configuration names that does not exist is an
// error, since a typo would otherwise publish a table or field meant to be
// kept back.
func Apply(cols []*engine.Collection, c *Config) ([]*engine.Collection, error) {
	out := make([]*engine.Collection, 0, len(cols))
	byName := map[string]*engine.Collection{}
	excluded := map[string]bool{}
	if c != nil {
		for i, name := range c.Exclude {
			if !slices.ContainsFunc(cols, func(col *engine.Collection) bool { return col.Name == name }) {
				return nil, c.errorf(fmt.Sprintf("exclude.%d", i), "exclude: no table or view %q (the source has %s)", name, list(cols))
			}
			excluded[name] = true
		}
	}
	for _, col := range cols {
		if excluded[col.Name] {
			continue
		}
		out = append(out, clone(col))
		byName[col.Name] = out[len(out)-1]
	}
	if c == nil {
		return out, nil
	}
	names := make([]string, 0, len(c.Collections))
	for name := range c.Collections {
		names = append(names, name)
	}
	slices.Sort(names) // deterministic error messages
	for _, name := range names {
		col, ok := byName[name]
		if !ok {
			return nil, c.errorf("collections."+name, "collection %q does not exist (the source has %s)", name, list(cols))
		}
		if err := c.applyOne(col, c.Collections[name]); err != nil {
			return nil, err
		}
	}
	published := map[string]*engine.Collection{}
	for _, col := range out {
		if _, dup := published[col.Name]; dup {
			return nil, fmt.Errorf("config %s: two collections are published as %q", c.file, col.Name)
		}
		published[col.Name] = col
	}
	for i, m := range c.Mounts {
		if m.Collection == "" {
			continue
		}
		at := fmt.Sprintf("mounts.%d", i)
		col, ok := published[m.Collection]
		switch {
		case !ok && excluded[m.Collection]:
			return nil, c.errorf(at, "mount %d: collection %q is excluded", i+1, m.Collection)
		case !ok:
			return nil, c.errorf(at, "mount %d: collection %q does not exist", i+1, m.Collection)
		}
		for from, to := range m.Fields {
			if col.Field(to) == nil {
				return nil, c.errorf(at, "mount %d: field map %q: collection %q has no visible field %q", i+1, from, col.Name, to)
			}
		}
	}
	return out, nil
}

func (c *Config) applyOne(col *engine.Collection, cc Collection) error {
	at := "collections." + col.Name
	name := col.Name
	find := func(f string) *engine.Field {
		for _, fd := range col.Fields {
			if fd.Name == f {
				return fd
			}
		}
		return nil
	}
	if len(cc.Key) > 0 {
		seen := map[string]bool{}
		for _, k := range cc.Key {
			f := find(k)
			switch {
			case f == nil:
				return c.errorf(at, "collection %q: key: no field %q", name, k)
			case !f.Type.Scalar():
				return c.errorf(at, "collection %q: key: field %q is JSON and cannot be a key", name, k)
			case seen[k]:
				return c.errorf(at, "collection %q: key: field %q is named twice", name, k)
			}
			seen[k] = true
		}
		col.Key = slices.Clone(cc.Key)
		col.KeyCaveat = "" // the owner named the key
		for _, k := range cc.Key {
			find(k).Sortable = true
		}
	}
	for _, h := range cc.Hidden {
		f := find(h)
		if f == nil {
			return c.errorf(at, "collection %q: hidden: no field %q", name, h)
		}
		if slices.Contains(col.Key, h) {
			return c.errorf(at, "collection %q: hidden: %q is the key, which every record carries; choose another key first", name, h)
		}
		f.Hidden = true
	}
	if cc.DefaultSort != "" {
		sort := engine.ParseSort(cc.DefaultSort)
		for _, k := range sort {
			f := col.Field(k.Field)
			switch {
			case f == nil:
				return c.errorf(at, "collection %q: default_sort: no visible field %q", name, k.Field)
			case !f.Sortable || !f.Type.Scalar():
				return c.errorf(at, "collection %q: default_sort: field %q is not sortable", name, k.Field)
			}
		}
		col.DefaultSort = sort
	} else {
		// A hidden field cannot stay in the discovered default sort.
		for _, k := range col.DefaultSort {
			if col.Field(k.Field) == nil {
				col.DefaultSort = nil
				break
			}
		}
	}
	if cc.Access != nil {
		if err := c.applyAccess(col, cc.Access, cc.DefaultSort != ""); err != nil {
			return err
		}
	}
	if cc.DefaultLimit > 0 {
		col.DefaultLimit = cc.DefaultLimit
	}
	if cc.MaxLimit > 0 {
		col.MaxLimit = cc.MaxLimit
	}
	if cc.MaxOffset > 0 {
		col.MaxOffset = cc.MaxOffset
	}
	if col.MaxLimit > 0 && col.DefaultLimit > col.MaxLimit {
		return c.errorf(at, "collection %q: default_limit %d exceeds max_limit %d", name, col.DefaultLimit, col.MaxLimit)
	}
	if cc.Name != "" {
		col.Name = cc.Name
	}
	return nil
}

func clone(c *engine.Collection) *engine.Collection {
	d := *c
	d.Fields = make([]*engine.Field, len(c.Fields))
	for i, f := range c.Fields {
		g := *f
		d.Fields[i] = &g
	}
	d.DefaultSort = slices.Clone(c.DefaultSort)
	d.Scope = slices.Clone(c.Scope)
	return &d
}

func list(cols []*engine.Collection) string {
	if len(cols) == 0 {
		return "none"
	}
	names := make([]string, len(cols))
	for i, c := range cols {
		names[i] = fmt.Sprintf("%q", c.Name)
	}
	slices.Sort(names)
	s := names[0]
	for _, n := range names[1:] {
		s += ", " + n
	}
	return s
}
