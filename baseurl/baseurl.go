// Package baseurl gives every absolute link folio writes one origin: the
// scheme, host and path prefix under which the client reached the API. It
// is a configured base URL when one is given (a proxy's public address);
// otherwise the request's own scheme and Host, corrected by the Forwarded
// (RFC 7239) or X-Forwarded-Proto/Host/Prefix headers only when the
// connection comes from a configured trusted proxy. The server computes it
// once per request (Resolver.Handler) and every dialect reads it with Of.
package baseurl

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
)

// Resolver computes the external base of requests.
type Resolver struct {
	fixed   string         // a configured base URL, without a trailing '/'
	trusted []netip.Prefix // peers whose forwarding headers are believed
}

// New returns a Resolver. base, when not empty, is an absolute http or
// https URL whose path is the prefix a proxy strips (e.g.
// https://api.example.org/data); it wins over any header. trusted lists the
// addresses (192.0.2.1, ::1) or networks (10.0.0.0/8) of the proxies whose
// forwarding headers are believed; from any other peer they change nothing.
func New(base string, trusted []string) (*Resolver, error) {
	res := &Resolver{}
	if base != "" {
		b, err := parseBase(base)
		if err != nil {
			return nil, err
		}
		res.fixed = b
	}
	for _, t := range trusted {
		p, err := parsePrefix(t)
		if err != nil {
			return nil, err
		}
		res.trusted = append(res.trusted, p)
	}
	return res, nil
}

// CheckBase reports whether base would be accepted by New.
func CheckBase(base string) error {
	_, err := parseBase(base)
	return err
}

// CheckTrusted reports whether t, an address or network, would be accepted
// by New.
func CheckTrusted(t string) error {
	_, err := parsePrefix(t)
	return err
}

func parseBase(base string) (string, error) {
	u, err := url.Parse(base)
	if err != nil {
		return "", fmt.Errorf("base URL %q: %w", base, err)
	}
	scheme := strings.ToLower(u.Scheme)
	switch {
	case scheme != "http" && scheme != "https":
		return "", fmt.Errorf("base URL %q: want an http:// or https:// URL", base)
	case !validHost(u.Host):
		return "", fmt.Errorf("base URL %q: want a host name or address, and a port if any", base)
	case u.User != nil || u.RawQuery != "" || u.ForceQuery || u.Fragment != "":
		return "", fmt.Errorf("base URL %q: want no user, query or fragment, only scheme, host and a path prefix", base)
	}
	return scheme + "://" + u.Host + strings.TrimRight(u.EscapedPath(), "/"), nil
}

func parsePrefix(s string) (netip.Prefix, error) {
	s = strings.TrimSpace(s)
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return netip.Prefix{}, fmt.Errorf("trusted proxy %q: want an address or a network such as 10.0.0.0/8: %w", s, err)
		}
		return p.Masked(), nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("trusted proxy %q: want an address or a network such as 10.0.0.0/8: %w", s, err)
	}
	a = a.Unmap()
	return netip.PrefixFrom(a, a.BitLen()), nil
}

type key struct{}

// clientKey holds the client's address, as Client found it.
type clientKey struct{}

// Handler stores each request's external base for Of. With neither a base
// URL nor a trusted proxy configured it is next itself: Of then computes
// the base from the request alone.
func (res *Resolver) Handler(next http.Handler) http.Handler {
	if res == nil || len(res.trusted) == 0 && res.fixed == "" {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := context.WithValue(r.Context(), key{}, res.Base(r))
		ctx = context.WithValue(ctx, clientKey{}, res.Client(r))
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

// Of returns the absolute URL under which the client reached this server's
// root, without a trailing '/': what a link's path follows. It is the one
// Handler stored, or else the request's own scheme and Host.
func Of(r *http.Request) string {
	if b, ok := r.Context().Value(key{}).(string); ok {
		return b
	}
	return Direct(r)
}

// ClientOf returns the address of the client that sent r: the one Handler
// stored (what Client found), or else the peer's.
func ClientOf(r *http.Request) string {
	if c, ok := r.Context().Value(clientKey{}).(string); ok {
		return c
	}
	if a, ok := remoteAddr(r.RemoteAddr); ok {
		return a.String()
	}
	return r.RemoteAddr
}

// Client returns the address of the client that sent r: the peer, unless
// it is a trusted proxy; then, walking back the addresses the proxies
// recorded (Forwarded's "for", else X-Forwarded-For), the first that is
// not a trusted proxy (or the first recorded, when all are). An address a
// client wrote itself before the trusted proxies is never reached unless
// they all are trusted, so a client cannot choose its own.
func (res *Resolver) Client(r *http.Request) string {
	peer, ok := remoteAddr(r.RemoteAddr)
	if !ok {
		return r.RemoteAddr
	}
	if !res.trusts(peer) {
		return peer.String()
	}
	var addrs []netip.Addr
	if fields := r.Header.Values("Forwarded"); len(fields) > 0 {
		els, err := ParseForwarded(fields)
		if err != nil {
			return peer.String()
		}
		for _, e := range els {
			if a, ok := NodeAddr(e.For); ok {
				addrs = append(addrs, a.Unmap())
			}
		}
	} else {
		for _, s := range splitList(r.Header.Values("X-Forwarded-For")) {
			if a, err := netip.ParseAddr(s); err == nil {
				addrs = append(addrs, a.Unmap())
			}
		}
	}
	client := peer
	for i := len(addrs) - 1; i >= 0; i-- {
		client = addrs[i]
		if !res.trusts(client) {
			break
		}
	}
	return client.String()
}

// Direct is the request's own scheme and Host, ignoring every forwarding
// header.
func Direct(r *http.Request) string {
	if r.TLS != nil {
		return "https://" + r.Host
	}
	return "http://" + r.Host
}

// Base computes the external base of r: the configured base URL; else,
// from a trusted peer, the request's scheme, Host and no prefix as the
// forwarding headers correct them; else Direct.
func (res *Resolver) Base(r *http.Request) string {
	if res.fixed != "" {
		return res.fixed
	}
	peer, ok := remoteAddr(r.RemoteAddr)
	if !ok || !res.trusts(peer) {
		return Direct(r)
	}
	proto, host := "http", r.Host
	if r.TLS != nil {
		proto = "https"
	}
	hops := res.trustedHops(r.Header.Values("X-Forwarded-For"))
	if fields := r.Header.Values("Forwarded"); len(fields) > 0 {
		if p, h, ok := res.fromForwarded(fields); ok {
			proto, host = or(p, proto), or(h, host)
		}
	} else {
		if p := strings.ToLower(hop(r.Header.Values("X-Forwarded-Proto"), hops)); p == "http" || p == "https" {
			proto = p
		}
		if h := hop(r.Header.Values("X-Forwarded-Host"), hops); validHost(h) {
			host = h
		}
	}
	prefix := ""
	if p := hop(r.Header.Values("X-Forwarded-Prefix"), hops); validPrefix(p) {
		prefix = strings.TrimRight(p, "/")
	}
	return proto + "://" + host + prefix
}

func or(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// fromForwarded reads proto and host from the elements the trusted proxies
// added: walking from the last element (added by the peer, which is
// trusted) towards the first, an element is believed while the element
// after it names a trusted proxy as its "for"; the outermost believed
// element that gives a parameter wins, being nearest to the client. A
// malformed header is ignored whole.
func (res *Resolver) fromForwarded(fields []string) (proto, host string, ok bool) {
	els, err := ParseForwarded(fields)
	if err != nil || len(els) == 0 {
		return "", "", false
	}
	for i := len(els) - 1; i >= 0; i-- {
		e := els[i]
		if p := strings.ToLower(e.Proto); p == "http" || p == "https" {
			proto = p
		}
		if validHost(e.Host) {
			host = e.Host
		}
		if a, ok := NodeAddr(e.For); !ok || !res.trusts(a) {
			break
		}
	}
	return proto, host, true
}

// trustedHops counts the proxies whose X-Forwarded-* values are believed:
// the peer, and each trusted address at the end of X-Forwarded-For before
// the first that is not.
func (res *Resolver) trustedHops(xff []string) int {
	addrs := splitList(xff)
	n := 1
	for i := len(addrs) - 1; i >= 0; i-- {
		a, err := netip.ParseAddr(addrs[i])
		if err != nil || !res.trusts(a) {
			break
		}
		n++
	}
	return n
}

// hop returns the value of a comma-separated forwarding header that the
// outermost of hops trusted proxies set: proxies append, so it is the
// hops-th value from the end, or the first when fewer were written (a
// proxy that set the header rather than appending).
func hop(fields []string, hops int) string {
	vs := splitList(fields)
	if len(vs) == 0 {
		return ""
	}
	return vs[max(len(vs)-hops, 0)]
}

func splitList(fields []string) []string {
	var out []string
	for _, f := range fields {
		for v := range strings.SplitSeq(f, ",") {
			if v = strings.TrimSpace(v); v != "" {
				out = append(out, v)
			}
		}
	}
	return out
}

func (res *Resolver) trusts(a netip.Addr) bool {
	a = a.Unmap()
	for _, p := range res.trusted {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// remoteAddr parses http.Request.RemoteAddr ("192.0.2.1:1234",
// "[::1]:1234").
func remoteAddr(s string) (netip.Addr, bool) {
	host, _, err := net.SplitHostPort(s)
	if err != nil {
		host = s
	}
	a, err := netip.ParseAddr(host)
	if err != nil {
		return netip.Addr{}, false
	}
	return a.Unmap(), true
}

// validHost accepts a host as links may carry it: a DNS name or IPv4
// address of letters, digits, '-', '.' and '_', or a bracketed IPv6
// address, with an optional numeric port. Nothing that would end the
// authority ('/', '?', '#', '@') or break a Link header (',', ';', '<',
// '>', quotes, spaces) passes.
func validHost(h string) bool {
	if h == "" {
		return false
	}
	name, port := h, ""
	if strings.HasPrefix(h, "[") {
		end := strings.IndexByte(h, ']')
		if end < 0 {
			return false
		}
		if a, err := netip.ParseAddr(h[1:end]); err != nil || !a.Is6() || a.Zone() != "" {
			return false
		}
		name, port = "", h[end+1:]
	} else if i := strings.IndexByte(h, ':'); i >= 0 {
		name, port = h[:i], h[i:]
	}
	if port != "" && !(len(port) > 1 && len(port) <= 6 && port[0] == ':' && allDigits(port[1:])) {
		return false
	}
	if name == "" {
		return strings.HasPrefix(h, "[")
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '.' || c == '_') {
			return false
		}
	}
	return true
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// validPrefix accepts a path prefix of path characters (RFC 3986 pchar,
// percent-encoded or not) starting with '/', and no "//" that a client
// could read as the start of an authority.
func validPrefix(p string) bool {
	if !strings.HasPrefix(p, "/") || strings.Contains(p, "//") {
		return false
	}
	for i := 0; i < len(p); i++ {
		c := p[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case strings.IndexByte("/-._~!$&'()*+=:@", c) >= 0:
		case c == '%' && i+2 < len(p) && isHex(p[i+1]) && isHex(p[i+2]):
		default:
			return false
		}
	}
	return true
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}
