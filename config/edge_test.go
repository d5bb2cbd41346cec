package config

import (
	"os"
	"slices"
	"strings"
	"testing"
)

func TestEdge(t *testing.T) {
	c, err := Parse([]byte("base_url: https://api.example.org/data\ntrusted_proxies: [127.0.0.1, 10.0.0.0/8, \"::1\"]\ncors:\n  allowed_origins: [https://app.example.org, \"https://*.example.net\"]\n"), "test.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if c.BaseURL != "https://api.example.org/data" || !slices.Equal(c.TrustedProxies, []string{"127.0.0.1", "10.0.0.0/8", "::1"}) ||
		!slices.Equal(c.CORSOrigins(), []string{"https://app.example.org", "https://*.example.net"}) {
		t.Fatalf("%+v", c)
	}
	// Absent: any origin (nil); an empty list: none.
	for _, tc := range []struct {
		yaml string
		want []string
	}{
		{"", nil},
		{"cors: {}\n", nil},
		{"cors:\n  allowed_origins: []\n", []string{}},
		{"cors:\n  allowed_origins: ['*']\n", []string{"*"}},
	} {
		c, err := Parse([]byte(tc.yaml), "test.yaml")
		if err != nil {
			t.Fatal(err)
		}
		if got := c.CORSOrigins(); (got == nil) != (tc.want == nil) || !slices.Equal(got, tc.want) {
			t.Errorf("%q: origins %#v, want %#v", tc.yaml, got, tc.want)
		}
	}
}

func TestEdgeErrors(t *testing.T) {
	for _, tc := range []struct{ yaml, want string }{
		{"mounts: []\nbase_url: ftp://example.org\n", "line 2: base_url: "},
		{"base_url: https://example.org/?x=1\n", "no user, query"},
		{"trusted_proxies: [10.0.0.0/8, proxy.internal]\n", `line 1: trusted_proxies: trusted proxy "proxy.internal"`},
		{"cors:\n  allowed_origins: [https://app.example.org/]\n", "line 1: cors: allowed origin \"https://app.example.org/\": an origin has no path"},
		{"cors:\n  allowed_origins: [app.example.org]\n", "want scheme://host"},
		{"cors:\n  allowed_origins: ['https://*.*.example.org']\n", "at most one '*'"},
		{"cors:\n  origins: ['*']\n", "line 2"},
	} {
		_, err := Parse([]byte(tc.yaml), "test.yaml")
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: %v, want an error containing %q", tc.yaml, err, tc.want)
		}
	}
}

// TestREADMEConfig: the configuration file README.md shows, edge keys and
// all, is one folio accepts.
func TestREADMEConfig(t *testing.T) {
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(readme), "## Configuration file")
	_, rest, ok2 := strings.Cut(rest, "```yaml\n")
	block, _, ok3 := strings.Cut(rest, "```")
	if !ok || !ok2 || !ok3 {
		t.Fatal("README's Configuration file section has no yaml block")
	}
	c, err := Parse([]byte(block), "README.md")
	if err != nil {
		t.Fatal(err)
	}
	if c.BaseURL == "" || len(c.TrustedProxies) == 0 || len(c.CORSOrigins()) == 0 {
		t.Errorf("the example shows no edge keys: %+v", c)
	}
}
