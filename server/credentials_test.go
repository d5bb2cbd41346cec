package server

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"folio/auth"
	"folio/config"
	"folio/internal/demodb"
	"folio/internal/testcert"
)

// TestBasicCredentials: HTTP Basic, as DataCite's clients send it, is
// answered as its password's token, whatever the user name.
func TestBasicCredentials(t *testing.T) {
	store := auth.OpenTokens(filepath.Join(t.TempDir(), "tokens"))
	tok, _, err := store.Create("root", []string{"admin"}, 0)
	if err != nil {
		t.Fatal(err)
	}
	ts := authDemo(t, store, nil, -1)
	total := func(cred string) int64 {
		t.Helper()
		resp, body := fetchAs(t, ts.URL+"/v1/entries?limit=1&total=exact", cred)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("%q: %d %s", cred, resp.StatusCode, body)
		}
		var p struct{ Page struct{ Total int64 } }
		if err := json.Unmarshal([]byte(body), &p); err != nil {
			t.Fatal(err)
		}
		return p.Page.Total
	}
	anon, bearer := total(""), total("Bearer "+tok)
	basic := total("Basic " + base64.StdEncoding.EncodeToString([]byte("any-user:"+tok)))
	if bearer <= anon || basic != bearer {
		t.Errorf("totals: anonymous %d, bearer %d, basic %d", anon, bearer, basic)
	}
	if resp, _ := fetchAs(t, ts.URL+"/v1/entries", "Basic !!!"); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("malformed Basic: %d", resp.StatusCode)
	}
}

// TestClientCertificates: where folio terminates TLS with client
// authorities configured, a verified client certificate makes its subject
// the principal; without one a client is anonymous.
func TestClientCertificates(t *testing.T) {
	b, err := os.ReadFile("../config/demo.yaml")
	if err != nil {
		t.Fatal(err)
	}
	y := strings.Replace(string(b), "  downtimes:\n    default_sort: id\n", "  downtimes:\n    default_sort: id\n    access:\n      read: [authenticated]\n", 1)
	cfg, err := config.Parse([]byte(y), "demo-certs.yaml")
	if err != nil {
		t.Fatal(err)
	}
	server := testcert.Write(t)
	clientCA, clientPair := clientCertificate(t, "CN=site-admin,O=Grid")
	log, _ := newLogger()
	srv, err := New(Options{Engine: demodb.Open(t, demodb.Shared(t, demodb.Rows).Path, cfg), Mounts: cfg.MountList(), Logger: log,
		TLSCert: server.Cert, TLSKey: server.Key, TLSClientCA: clientCA})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, ln) }()
	defer func() { stop(); <-done }()
	get := func(certs []tls.Certificate) int {
		t.Helper()
		c := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: server.Pool, Certificates: certs}}}
		defer c.CloseIdleConnections()
		resp, err := c.Get("https://" + ln.Addr().String() + "/v1/downtimes?limit=1")
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode
	}
	if st := get(nil); st != http.StatusNotFound {
		t.Errorf("without a certificate: %d, want 404 (not granted to anonymous)", st)
	}
	if st := get([]tls.Certificate{clientPair}); st != http.StatusOK {
		t.Errorf("with a client certificate: %d, want 200", st)
	}
	if _, err := New(Options{Engine: demodb.Open(t, demodb.Shared(t, demodb.Rows).Path, cfg), TLSClientCA: clientCA}); err == nil {
		t.Error("client authorities without TLS accepted")
	}
}

// clientCertificate makes an authority (its PEM file's path) and a client
// certificate it signed for subject.
func clientCertificate(t *testing.T, subject string) (string, tls.Certificate) {
	t.Helper()
	key := func() *ecdsa.PrivateKey {
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	caKey, clientKey := key(), key()
	now := time.Now()
	ca := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "client CA"}, NotBefore: now.Add(-time.Hour),
		NotAfter: now.Add(time.Hour), IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	caDER, err := x509.CreateCertificate(rand.Reader, ca, ca, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	caCert, _ := x509.ParseCertificate(caDER)
	cn, org, _ := strings.Cut(strings.TrimPrefix(subject, "CN="), ",O=")
	leaf := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: cn, Organization: []string{org}},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour), KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}
	der, err := x509.CreateCertificate(rand.Reader, leaf, caCert, &clientKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "client-ca.pem")
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}), 0o600); err != nil {
		t.Fatal(err)
	}
	return path, tls.Certificate{Certificate: [][]byte{der}, PrivateKey: clientKey}
}
