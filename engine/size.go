package engine

// Bounds on the size of a query's filters. A database compiles every
// condition into one statement and has limits of its own (SQLite: an
// expression tree at most 1000 deep, at most 32766 bound parameters); a
// request beyond them must be the client's 400, not the database's 503.
const (
	// MaxConditions bounds the conditions of a query: each filter, each
	// or/not group and each value of an all/any/none filter counts one.
	MaxConditions = 200
	// MaxFilterValues bounds the values of all of a query's filters together.
	MaxFilterValues = 10000
)

// checkSize reports the filter at which a query outgrows MaxConditions or
// MaxFilterValues, naming its field (or its combinator) as the parameter.
func checkSize(filters []Filter) error {
	conds, values := 0, 0
	var walk func([]Filter) error
	walk = func(fs []Filter) error {
		for _, f := range fs {
			conds++
			if f.Op == OpAll || f.Op == OpAny || f.Op == OpNone {
				conds += len(f.Values)
			}
			values += len(f.Values)
			param := f.Field
			if f.Op == OpOr || f.Op == OpNot {
				param = string(f.Op)
			}
			if conds > MaxConditions {
				return invalidFilter(param, "the query has more than %d conditions; split it into several requests", MaxConditions)
			}
			if values > MaxFilterValues {
				return invalidFilter(param, "the query's filters hold more than %d values; split it into several requests", MaxFilterValues)
			}
			for _, g := range f.Sub {
				conds++
				if err := walk(g); err != nil {
					return err
				}
			}
		}
		return nil
	}
	return walk(filters)
}
