package baseurl

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"
)

// Element is one forwarded-element of an RFC 7239 Forwarded header: what
// one proxy on the way recorded about the request it received. Parameter
// names are case-insensitive; values are unquoted. Unknown parameters
// (extensions) are kept out: folio reads none.
type Element struct {
	For, By, Host, Proto string
}

// ErrForwarded marks a Forwarded header that is not RFC 7239's syntax.
var ErrForwarded = errors.New("malformed Forwarded header")

// ParseForwarded parses the Forwarded header fields of a request (one or
// several fields, each a comma-separated list) into its elements, the one
// the nearest proxy added last. Empty list elements are skipped, as RFC
// 9110's list rule asks; anything else that is not the RFC's syntax, a
// parameter given twice in one element included, is an error wrapping
// ErrForwarded, and a caller should then trust none of the header.
func ParseForwarded(fields []string) ([]Element, error) {
	var out []Element
	for _, f := range fields {
		p := parser{s: f}
		for {
			p.space()
			if p.done() {
				break
			}
			if p.peek() == ',' {
				p.i++
				continue
			}
			e, err := p.element()
			if err != nil {
				return nil, fmt.Errorf("%w: %v", ErrForwarded, err)
			}
			out = append(out, e)
			p.space()
			if p.done() {
				break
			}
			if p.peek() != ',' {
				return nil, fmt.Errorf("%w: want ',' at byte %d", ErrForwarded, p.i)
			}
			p.i++
		}
	}
	return out, nil
}

type parser struct {
	s string
	i int
}

func (p *parser) done() bool { return p.i >= len(p.s) }
func (p *parser) peek() byte { return p.s[p.i] }

func (p *parser) space() {
	for !p.done() && (p.peek() == ' ' || p.peek() == '\t') {
		p.i++
	}
}

// element reads forwarded-pairs separated by ';' up to a ',' or the end.
func (p *parser) element() (Element, error) {
	var e Element
	seen := map[string]bool{}
	for {
		p.space()
		if p.done() || p.peek() == ',' {
			return e, nil
		}
		if p.peek() == ';' { // an empty pair: [ forwarded-pair ] allows it
			p.i++
			continue
		}
		name := strings.ToLower(p.token())
		if name == "" {
			return e, fmt.Errorf("want a parameter name at byte %d", p.i)
		}
		if p.done() || p.peek() != '=' {
			return e, fmt.Errorf("parameter %q has no '='", name)
		}
		p.i++
		var value string
		if !p.done() && p.peek() == '"' {
			v, err := p.quoted()
			if err != nil {
				return e, err
			}
			value = v
		} else {
			value = p.token()
			if value == "" {
				return e, fmt.Errorf("parameter %q has no value", name)
			}
		}
		if seen[name] {
			return e, fmt.Errorf("parameter %q twice in one element", name)
		}
		seen[name] = true
		switch name {
		case "for":
			e.For = value
		case "by":
			e.By = value
		case "host":
			e.Host = value
		case "proto":
			e.Proto = value
		}
		p.space()
		if p.done() || p.peek() == ',' {
			return e, nil
		}
		if p.peek() != ';' {
			return e, fmt.Errorf("want ';' or ',' at byte %d", p.i)
		}
		p.i++
	}
}

// token reads an RFC 9110 token (possibly empty).
func (p *parser) token() string {
	start := p.i
	for !p.done() && isTchar(p.peek()) {
		p.i++
	}
	return p.s[start:p.i]
}

// quoted reads a quoted-string, the opening quote at p.i, and returns it
// unquoted.
func (p *parser) quoted() (string, error) {
	start := p.i
	p.i++
	var b strings.Builder
	for !p.done() {
		c := p.peek()
		switch {
		case c == '"':
			p.i++
			return b.String(), nil
		case c == '\\':
			p.i++
			if p.done() || !isQuotedPairChar(p.peek()) {
				return "", fmt.Errorf("bad escape in the quoted string at byte %d", start)
			}
			b.WriteByte(p.peek())
		case isQdtext(c):
			b.WriteByte(c)
		default:
			return "", fmt.Errorf("byte %#x not allowed in a quoted string at byte %d", c, p.i)
		}
		p.i++
	}
	return "", fmt.Errorf("unterminated quoted string at byte %d", start)
}

func isTchar(c byte) bool {
	switch {
	case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		return true
	}
	return strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0
}

// isQdtext: HTAB, SP, VCHAR except '"' and '\', and obs-text.
func isQdtext(c byte) bool {
	return c == '\t' || c == ' ' || c == 0x21 || c >= 0x23 && c <= 0x5b || c >= 0x5d && c <= 0x7e || c >= 0x80
}

func isQuotedPairChar(c byte) bool {
	return c == '\t' || c == ' ' || c >= 0x21 && c <= 0x7e || c >= 0x80
}

// NodeAddr returns the IP address of an RFC 7239 node ("192.0.2.43",
// "192.0.2.43:47011", "[2001:db8::17]:4711", as unquoted); ok is false for
// "unknown", an obfuscated name ("_hidden") or anything else.
func NodeAddr(node string) (netip.Addr, bool) {
	host := node
	if strings.HasPrefix(node, "[") {
		end := strings.IndexByte(node, ']')
		if end < 0 {
			return netip.Addr{}, false
		}
		host = node[1:end]
		if rest := node[end+1:]; rest != "" && !validNodePort(rest) {
			return netip.Addr{}, false
		}
		a, err := netip.ParseAddr(host)
		if err != nil || !a.Is6() {
			return netip.Addr{}, false
		}
		return a, true
	}
	if i := strings.IndexByte(node, ':'); i >= 0 {
		if !validNodePort(node[i:]) {
			return netip.Addr{}, false
		}
		host = node[:i]
	}
	a, err := netip.ParseAddr(host)
	if err != nil || !a.Is4() {
		return netip.Addr{}, false
	}
	return a, true
}

// validNodePort: ":" followed by a port number or an obfuscated port
// ("_" and letters, digits, '.', '_', '-').
func validNodePort(s string) bool {
	if len(s) < 2 || s[0] != ':' {
		return false
	}
	s = s[1:]
	if s[0] == '_' {
		for i := 1; i < len(s); i++ {
			c := s[i]
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-') {
				return false
			}
		}
		return true
	}
	if len(s) > 5 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
