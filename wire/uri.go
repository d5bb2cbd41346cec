package wire

import "net/url"

// Links are read by more than URI parsers: many clients split a Link header
// on every comma, or a link's parameters on every semicolon, before they look
// for the angle brackets, and then throw, stop after one page or follow a
// cut URL. A link is safe for all of them when its path and query hold no
// byte but the unreserved ones (RFC 3986: letters, digits, "-._~"), the
// percent escapes and the few delimiters the URL's structure needs. The
// links a dialect builds from parameters are encoded that way already
// (url.Values.Encode, url.QueryEscape, PHP's urlencode); the appenders
// below make the parts a link echoes from the request the same.

const upperHex = "0123456789ABCDEF"

// AppendQuery appends a raw query string as a client sent it (pairs, their
// order and the escapes already in it kept), with every other byte that is
// not unreserved percent-encoded: ',' ';' '<' '>' '"' '[' ']' and the rest.
// '&' between pairs, the first '=' of a pair and '+' (a space) stay as they
// are; a '=' later in a pair becomes %3D, and a '%' that starts no escape
// %25. Every form decoder (url.ParseQuery, PHP's parse_str, Rack) reads the
// same parameters from the result as from raw, so a self link stays the
// request it names.
func AppendQuery(b []byte, raw string) []byte { return appendEscaped(b, raw, true) }

// AppendRequestURI appends the path and query of a request's URL (as
// url.URL.RequestURI gives them) through AppendPath and AppendQuery: the
// request as sent, made safe to echo in a self link.
func AppendRequestURI(b []byte, u *url.URL) []byte {
	b = AppendPath(b, u.EscapedPath())
	if u.RawQuery != "" || u.ForceQuery {
		b = AppendQuery(append(b, '?'), u.RawQuery)
	}
	return b
}

// AppendPath appends an escaped URL path (url.URL.EscapedPath) with every
// byte but '/', the unreserved ones and the escapes already in it
// percent-encoded, as AppendQuery does for a query. A path names the same
// resource after it: servers match paths decoded segment by segment.
func AppendPath(b []byte, path string) []byte { return appendEscaped(b, path, false) }

// appendEscaped appends s with every byte percent-encoded but the
// unreserved ones, the escapes already in it, and the delimiters of a
// query (query) or a path.
func appendEscaped(b []byte, s string, query bool) []byte {
	inValue := false // after the first '=' of a query's pair
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case unreserved(c), query && c == '+', !query && c == '/':
			b = append(b, c)
		case c == '%' && i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2]):
			b = append(b, s[i:i+3]...)
			i += 2
		case query && c == '&':
			b = append(b, c)
			inValue = false
		case query && c == '=' && !inValue:
			b = append(b, c)
			inValue = true
		default:
			b = append(b, '%', upperHex[c>>4], upperHex[c&15])
		}
	}
	return b
}

// unreserved reports whether c is an RFC 3986 unreserved character.
func unreserved(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
		c == '-' || c == '.' || c == '_' || c == '~'
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}
