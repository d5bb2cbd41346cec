package main

import (
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"strings"

	"folio/config"
	"folio/server"
)

// edgeFlags are serve's flags for the HTTP edge: links behind a proxy,
// CORS, TLS and h2c. A flag given wins over the configuration file.
type edgeFlags struct {
	fs                                         *flag.FlagSet
	baseURL, trusted, cors, crt, key, clientCA *string
	h2c                                        *bool
}

func addEdgeFlags(fs *flag.FlagSet) *edgeFlags {
	return &edgeFlags{
		fs:       fs,
		baseURL:  fs.String("base-url", "", "public URL of the API root behind a proxy, e.g. https://api.example.org/data (its path is the prefix the proxy strips); every absolute link starts with it"),
		trusted:  fs.String("trusted-proxies", "", "addresses or networks (comma-separated) of proxies whose Forwarded and X-Forwarded-Proto/Host/Prefix headers are believed"),
		cors:     fs.String("cors-origins", "*", "origins whose web pages may read the API, comma-separated (https://app.example.org, https://*.example.org), * for any, none for no CORS"),
		crt:      fs.String("tls-cert", "", "PEM certificate (chain) file: serve HTTPS with HTTP/2"),
		key:      fs.String("tls-key", "", "PEM private key file of --tls-cert"),
		clientCA: fs.String("tls-client-ca", "", "PEM file of the authorities whose client certificates are accepted: a certificate's subject is the request's principal (needs --tls-cert)"),
		h2c:      fs.Bool("h2c", false, "also serve HTTP/2 without TLS (prior knowledge), for a proxy in front that speaks it"),
	}
}

// apply sets the edge's server options from cfg and the flags.
func (f *edgeFlags) apply(o *server.Options, cfg *config.Config) error {
	if cfg != nil {
		o.BaseURL, o.TrustedProxies = cfg.BaseURL, cfg.TrustedProxies
		o.CacheControl = cfg.CacheControl // the server fills in the defaults
	}
	o.CORSOrigins = cfg.CORSOrigins()
	o.TLSCert, o.TLSKey, o.TLSClientCA, o.H2C = *f.crt, *f.key, *f.clientCA, *f.h2c
	var err error
	f.fs.Visit(func(fl *flag.Flag) {
		switch fl.Name {
		case "base-url":
			o.BaseURL = *f.baseURL
		case "trusted-proxies":
			o.TrustedProxies = commaList(*f.trusted)
		case "cors-origins":
			o.CORSOrigins = []string{}
			if *f.cors != "none" {
				o.CORSOrigins = commaList(*f.cors)
			}
			for _, s := range o.CORSOrigins {
				if e := config.CheckOrigin(s); e != nil && err == nil {
					err = fmt.Errorf("--cors-origins: %w", e)
				}
			}
		}
	})
	return err
}

// publicURL is the root URL the examples `folio serve` prints start with:
// the base URL when one is configured, else the listener's address.
func publicURL(o server.Options, addr net.Addr) string {
	if o.BaseURL != "" {
		return strings.TrimRight(o.BaseURL, "/")
	}
	return listenURL(o, addr)
}

func listenURL(o server.Options, addr net.Addr) string {
	if o.TLSCert != "" {
		return "https://" + addr.String()
	}
	return "http://" + addr.String()
}

// listening says where serve listens, and the base URL its links name
// when that is another.
func listening(o server.Options, addr net.Addr) string {
	s := listenURL(o, addr)
	if o.H2C {
		s += " (HTTP/1.1 and h2c)"
	}
	if o.BaseURL != "" {
		s += ", linked as " + publicURL(o, addr)
	}
	return s
}

func commaList(s string) []string {
	var out []string
	for v := range strings.SplitSeq(s, ",") {
		if v = strings.TrimSpace(v); v != "" {
			out = append(out, v)
		}
	}
	return out
}

// loadCAs returns the system's trusted certificates and those of the PEM
// file at path.
func loadCAs(path string) (*x509.CertPool, error) {
	pem, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("--ca-cert: %w", err)
	}
	pool, err := x509.SystemCertPool()
	if err != nil {
		pool = x509.NewCertPool()
	}
	if !pool.AppendCertsFromPEM(pem) {
		return nil, errors.New("--ca-cert: no PEM certificate in " + path)
	}
	return pool, nil
}
