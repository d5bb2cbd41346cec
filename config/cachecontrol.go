package config

import (
	"fmt"
	"strings"
)

// CacheControl is the cache_control section: the Cache-Control header of
// each kind of answer, for browsers and shared caches (a CDN, nginx's
// proxy_cache). An empty value keeps the default; "none" sends no header.
type CacheControl struct {
	// Pages: pages, records and listings, which carry an ETag, so that a
	// cache that holds one past max-age revalidates it cheaply (a 304 with
	// no query). Default DefaultPagesCacheControl.
	Pages string `yaml:"pages"`
	// Exports: streamed answers (exports, unpaged reads), which have no
	// ETag to revalidate with and may be gigabytes. Default no-store.
	Exports string `yaml:"exports"`
	// Errors: every 4xx and 5xx a dialect answers; the cause (a database
	// away, a table not yet created) may be gone by the next request.
	// Default no-store.
	Errors string `yaml:"errors"`
}

// The defaults of CacheControl: a page may be reused for 5 seconds, and
// for 30 more while a cache revalidates it in the background; a stream or
// an error is never kept.
const (
	DefaultPagesCacheControl   = "max-age=5, stale-while-revalidate=30"
	DefaultExportsCacheControl = "no-store"
	DefaultErrorsCacheControl  = "no-store"
)

// Policy returns cc with the defaults filled in and "none" made "".
func (cc CacheControl) Policy() CacheControl {
	pick := func(v, def string) string {
		switch strings.TrimSpace(v) {
		case "":
			return def
		case "none":
			return ""
		}
		return strings.TrimSpace(v)
	}
	return CacheControl{
		Pages:   pick(cc.Pages, DefaultPagesCacheControl),
		Exports: pick(cc.Exports, DefaultExportsCacheControl),
		Errors:  pick(cc.Errors, DefaultErrorsCacheControl),
	}
}

// CheckCacheControl reports whether v reads as a Cache-Control header:
// comma-separated directives, each a token with an optional =value (a
// token, a number or a quoted string), as RFC 9111 writes them.
func CheckCacheControl(v string) error {
	if strings.TrimSpace(v) == "none" {
		return nil
	}
	for d := range strings.SplitSeq(v, ",") {
		name, value, hasValue := strings.Cut(strings.TrimSpace(d), "=")
		if !isToken(name) {
			return fmt.Errorf("%q: directive %q is not a name such as max-age or no-store", v, strings.TrimSpace(d))
		}
		if hasValue && !isToken(value) && !(len(value) >= 2 && value[0] == '"' && value[len(value)-1] == '"') {
			return fmt.Errorf("%q: the value of %s must be a token, a number or a quoted string", v, name)
		}
	}
	return nil
}

// isToken reports whether s is an RFC 9110 token.
func isToken(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if r > 0x7e || r <= ' ' || strings.ContainsRune(`"(),/:;<=>?@[\]{}`, r) {
			return false
		}
	}
	return true
}

func (c *Config) validateCacheControl() error {
	for _, f := range []struct{ name, v string }{{"pages", c.CacheControl.Pages}, {"exports", c.CacheControl.Exports}, {"errors", c.CacheControl.Errors}} {
		if f.v == "" {
			continue
		}
		if err := CheckCacheControl(f.v); err != nil {
			return c.errorf("cache_control", "cache_control: %s: %v", f.name, err)
		}
	}
	return nil
}
