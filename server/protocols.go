package server

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/http"
	"os"
)

// protocols sets what the server speaks: HTTP/1.1 always; with a
// certificate and key, TLS with HTTP/2 offered by ALPN; with h2c, HTTP/2
// without TLS too, for a client that starts with HTTP/2's preface (prior
// knowledge), as a proxy in front does. The certificate is loaded here, so
// a wrong file fails at startup rather than at the first connection.
func (s *Server) protocols(cert, key, clientCA string, h2c bool) error {
	if (cert == "") != (key == "") {
		return errors.New("server: TLS needs both a certificate and a key")
	}
	if clientCA != "" && cert == "" {
		return errors.New("server: client certificates need TLS: give a certificate and a key")
	}
	var p http.Protocols
	p.SetHTTP1(true)
	p.SetUnencryptedHTTP2(h2c)
	if cert != "" {
		pair, err := tls.LoadX509KeyPair(cert, key)
		if err != nil {
			return fmt.Errorf("server: TLS certificate: %w", err)
		}
		s.http.TLSConfig = &tls.Config{Certificates: []tls.Certificate{pair}, MinVersion: tls.VersionTLS12}
		if clientCA != "" {
			// A client may show a certificate of these authorities, whose
			// subject is then its principal; one without is anonymous.
			pem, err := os.ReadFile(clientCA)
			if err != nil {
				return fmt.Errorf("server: TLS client authorities: %w", err)
			}
			pool := x509.NewCertPool()
			if !pool.AppendCertsFromPEM(pem) {
				return fmt.Errorf("server: TLS client authorities: %s holds no PEM certificate", clientCA)
			}
			s.http.TLSConfig.ClientCAs = pool
			s.http.TLSConfig.ClientAuth = tls.VerifyClientCertIfGiven
		}
		p.SetHTTP2(true)
	}
	s.http.Protocols = &p
	return nil
}
