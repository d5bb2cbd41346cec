package config

import (
	"strings"
	"testing"
)

func TestCacheControl(t *testing.T) {
	for _, tc := range []struct {
		yaml string
		want CacheControl
	}{
		{"", CacheControl{DefaultPagesCacheControl, DefaultExportsCacheControl, DefaultErrorsCacheControl}},
		{"cache_control: {pages: 'public, max-age=60'}\n", CacheControl{"public, max-age=60", "no-store", "no-store"}},
		{"cache_control:\n  exports: no-cache\n  errors: none\n", CacheControl{DefaultPagesCacheControl, "no-cache", ""}},
		{"cache_control:\n  pages: 'max-age=5, community=\"UCI\"'\n", CacheControl{`max-age=5, community="UCI"`, "no-store", "no-store"}},
	} {
		c, err := Parse([]byte(tc.yaml), "test.yaml")
		if err != nil {
			t.Fatalf("%q: %v", tc.yaml, err)
		}
		if got := c.CacheControl.Policy(); got != tc.want {
			t.Errorf("%q: %+v, want %+v", tc.yaml, got, tc.want)
		}
	}
}

func TestCacheControlErrors(t *testing.T) {
	for _, tc := range []struct{ yaml, want string }{
		{"cors: {}\ncache_control:\n  pages: max age=5\n", "line 2: cache_control: pages"},
		{"cache_control:\n  errors: 'no-store;'\n", "errors"},
		{"cache_control:\n  exports: 'max-age=(5)'\n", "the value of max-age"},
		{"cache_control:\n  pages: 'max-age=5,,'\n", "directive"},
		{"cache_control:\n  page: max-age=5\n", "page"},
	} {
		_, err := Parse([]byte(tc.yaml), "test.yaml")
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: %v, want an error naming %q", tc.yaml, err, tc.want)
		}
	}
}
