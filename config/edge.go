package config

import (
	"fmt"
	"strings"

	"folio/baseurl"
)

// CORS says which web pages' scripts may read folio's answers.
type CORS struct {
	// AllowedOrigins lists origins ("https://app.example.org", one '*'
	// wildcard allowed: "https://*.example.org"); "*" is any origin.
	// Absent: any origin; an empty list: none (no CORS headers at all).
	AllowedOrigins []string `yaml:"allowed_origins"`
}

// validateEdge checks base_url, trusted_proxies and cors.
func (c *Config) validateEdge() error {
	if c.BaseURL != "" {
		if err := baseurl.CheckBase(c.BaseURL); err != nil {
			return c.errorf("base_url", "base_url: %v", err)
		}
	}
	for _, t := range c.TrustedProxies {
		if err := baseurl.CheckTrusted(t); err != nil {
			return c.errorf("trusted_proxies", "trusted_proxies: %v", err)
		}
	}
	for _, o := range c.CORS.AllowedOrigins {
		if err := CheckOrigin(o); err != nil {
			return c.errorf("cors", "cors: %v", err)
		}
	}
	return nil
}

// CheckOrigin reports whether o can name an origin whose scripts may read
// folio's answers: "*", or a scheme and host (a port too) with no path,
// with at most one '*' standing for any text. A trailing '/' or a path is
// an error rather than an origin that never matches: a browser's Origin
// header has neither.
func CheckOrigin(o string) error {
	if o == "*" {
		return nil
	}
	scheme, host, ok := strings.Cut(o, "://")
	switch {
	case !ok || scheme == "" || host == "":
		return fmt.Errorf("allowed origin %q: want scheme://host[:port], such as https://app.example.org, or *", o)
	case strings.ContainsAny(host, "/?#@ "):
		return fmt.Errorf("allowed origin %q: an origin has no path, not even a trailing '/'", o)
	case strings.Count(o, "*") > 1:
		return fmt.Errorf("allowed origin %q: at most one '*'", o)
	}
	return nil
}

// CORSOrigins returns the allowed origins: nil (any) when the file names
// none, an empty list when it says `allowed_origins: []`.
func (c *Config) CORSOrigins() []string {
	if c == nil {
		return nil
	}
	return c.CORS.AllowedOrigins
}
