package main

import (
	"crypto/x509"
	"encoding/pem"
	"flag"
	"net"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"folio/config"
	"folio/internal/testcert"
	"folio/server"
)

// TestEdgeFlags: the configuration file's edge keys apply unless a flag is
// given, which wins; --cors-origins none turns CORS off.
func TestEdgeFlags(t *testing.T) {
	cfg, err := config.Parse([]byte("base_url: https://file.example/data\ntrusted_proxies: [10.0.0.1]\ncors:\n  allowed_origins: [https://app.example.org]\n"), "test.yaml")
	if err != nil {
		t.Fatal(err)
	}
	cc, err := config.Parse([]byte("cache_control:\n  pages: public, max-age=60\n"), "cc.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args []string
		cfg  *config.Config
		want server.Options
	}{
		{nil, nil, server.Options{}},
		{nil, cc, server.Options{CacheControl: config.CacheControl{Pages: "public, max-age=60"}}},
		{nil, cfg, server.Options{BaseURL: "https://file.example/data", TrustedProxies: []string{"10.0.0.1"}, CORSOrigins: []string{"https://app.example.org"}}},
		{[]string{"--base-url", "https://flag.example", "--trusted-proxies", "127.0.0.1, ::1", "--cors-origins", "*"}, cfg,
			server.Options{BaseURL: "https://flag.example", TrustedProxies: []string{"127.0.0.1", "::1"}, CORSOrigins: []string{"*"}}},
		{[]string{"--cors-origins", "none", "--tls-cert", "c.pem", "--tls-key", "k.pem", "--h2c"}, cfg,
			server.Options{BaseURL: "https://file.example/data", TrustedProxies: []string{"10.0.0.1"}, CORSOrigins: []string{}, TLSCert: "c.pem", TLSKey: "k.pem", H2C: true}},
	} {
		fs := flag.NewFlagSet("serve", flag.ContinueOnError)
		f := addEdgeFlags(fs)
		if err := fs.Parse(tc.args); err != nil {
			t.Fatal(err)
		}
		var o server.Options
		if err := f.apply(&o, tc.cfg); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(o, tc.want) {
			t.Errorf("%q: %+v, want %+v", tc.args, o, tc.want)
		}
	}
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	f := addEdgeFlags(fs)
	fs.Parse([]string{"--cors-origins", "https://app.example.org/"})
	if err := f.apply(&server.Options{}, nil); err == nil || !strings.Contains(err.Error(), "--cors-origins") {
		t.Errorf("a bad origin: %v", err)
	}
}

func TestListening(t *testing.T) {
	addr := &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 8080}
	for _, tc := range []struct {
		o                server.Options
		listen, examples string
	}{
		{server.Options{}, "http://127.0.0.1:8080", "http://127.0.0.1:8080"},
		{server.Options{TLSCert: "c", H2C: true}, "https://127.0.0.1:8080 (HTTP/1.1 and h2c)", "https://127.0.0.1:8080"},
		{server.Options{BaseURL: "https://api.example.org/data/"}, "http://127.0.0.1:8080, linked as https://api.example.org/data", "https://api.example.org/data"},
	} {
		if got := listening(tc.o, addr); got != tc.listen {
			t.Errorf("listening %q, want %q", got, tc.listen)
		}
		if got := publicURL(tc.o, addr); got != tc.examples {
			t.Errorf("publicURL %q, want %q", got, tc.examples)
		}
	}
}

// TestLoadCAs: --ca-cert adds a test authority, whose server certificate
// then verifies; a file without a certificate is an error.
func TestLoadCAs(t *testing.T) {
	cert := testcert.Write(t)
	pool, err := loadCAs(cert.CA)
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(cert.Cert)
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(b)
	leaf, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := leaf.Verify(x509.VerifyOptions{Roots: pool, DNSName: "localhost"}); err != nil {
		t.Errorf("the test authority is not trusted: %v", err)
	}
	bad := filepath.Join(t.TempDir(), "empty.pem")
	os.WriteFile(bad, []byte("not a certificate\n"), 0o644)
	if _, err := loadCAs(bad); err == nil {
		t.Error("a file with no certificate was accepted")
	}
}
