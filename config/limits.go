package config

import (
	"fmt"
	"time"
)

// Limits is the limits section: how long a query may run, how many costly
// ones run at once, and how fast each client may send requests.
type Limits struct {
	// QueryTimeout bounds a page, record or count, and an export until its
	// first row; nil keeps the server's default, 0 means none.
	QueryTimeout *time.Duration `yaml:"query_timeout"`
	// CostlyQueries is how many costly queries (exact counts, exports, deep
	// offsets, heavy filters) run at once; 0 keeps the server's default.
	CostlyQueries int `yaml:"costly_queries"`
	// RateLimit bounds the requests each client address may send, to every
	// collection a collection entry does not bound itself; nil: no bound.
	RateLimit *Rate `yaml:"rate_limit"`
}

// Rate is a token bucket: Requests per Per on average, in bursts of up to
// Burst.
type Rate struct {
	Requests int           `yaml:"requests"`
	Per      time.Duration `yaml:"per"`
	Burst    int           `yaml:"burst"`
}

// PerSecond is the rate's average in requests per second.
func (r Rate) PerSecond() float64 { return float64(r.Requests) / r.Per.Seconds() }

func (r *Rate) validate() error {
	switch {
	case r.Requests < 1:
		return fmt.Errorf("requests must be 1 or more, got %d", r.Requests)
	case r.Per <= 0:
		return fmt.Errorf("per must be a positive duration such as 1s or 1m, got %v", r.Per)
	case r.Burst < 0:
		return fmt.Errorf("burst must be 0 (as many as requests) or more, got %d", r.Burst)
	}
	if r.Burst == 0 {
		r.Burst = r.Requests
	}
	return nil
}

func (c *Config) validateLimits() error {
	l := &c.Limits
	if l.QueryTimeout != nil && *l.QueryTimeout < 0 {
		return c.errorf("limits", "limits: query_timeout must be 0 (none) or more, got %v", *l.QueryTimeout)
	}
	if l.CostlyQueries < 0 {
		return c.errorf("limits", "limits: costly_queries must be 1 or more, got %d", l.CostlyQueries)
	}
	if l.RateLimit != nil {
		if err := l.RateLimit.validate(); err != nil {
			return c.errorf("limits", "limits: rate_limit: %v", err)
		}
	}
	for name, col := range c.Collections {
		if col.RateLimit != nil {
			if err := col.RateLimit.validate(); err != nil {
				return c.errorf("collections."+name, "collection %q: rate_limit: %v", name, err)
			}
		}
	}
	return nil
}

// CollectionRates returns the collections' own rate limits by the name
// they are published under.
func (c *Config) CollectionRates() map[string]*Rate {
	out := map[string]*Rate{}
	for table, col := range c.Collections {
		if col.RateLimit == nil {
			continue
		}
		name := table
		if col.Name != "" {
			name = col.Name
		}
		out[name] = col.RateLimit
	}
	return out
}
