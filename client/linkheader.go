package client

import "strings"

// webLink is one link-value of an RFC 8288 Link header: the target as
// written between '<' and '>', and its parameters in order.
type webLink struct {
	target string
	params []linkParam
}

// linkParam is one parameter of a link: the name lower-cased (names are
// case-insensitive), the value with a quoted string's quotes and
// backslash escapes removed.
type linkParam struct {
	name, value string
}

// rels returns the link's relation types: the space-separated values of
// its first rel parameter (RFC 8288 §3.3: later ones are ignored).
func (l webLink) rels() []string {
	for _, p := range l.params {
		if p.name == "rel" {
			return strings.Fields(p.value)
		}
	}
	return nil
}

// hasRel reports whether rel is among the link's relation types, compared
// case-insensitively as registered relation types are.
func (l webLink) hasRel(rel string) bool {
	for _, r := range l.rels() {
		if strings.EqualFold(r, rel) {
			return true
		}
	}
	return false
}

// parseLinks reads the link-values of one Link header field value:
//
//	Link       = #link-value
//	link-value = "<" URI-Reference ">" *( OWS ";" OWS link-param )
//	link-param = token BWS [ "=" BWS ( token / quoted-string ) ]
//
// Commas and semicolons inside the brackets or a quoted string belong to
// the URL or the value, which is why the header cannot be split on them
// first. A malformed link-value is left out and reading goes on at the
// next comma outside a quoted string, so that one bad link does not hide
// the others; empty list elements are skipped, as RFC 9110 §5.6.1 asks.
func parseLinks(h string) []webLink {
	var out []webLink
	i := 0
	for i < len(h) {
		i = skipOWS(h, i)
		if i < len(h) && h[i] == ',' {
			i++
			continue
		}
		if i == len(h) {
			break
		}
		l, next, ok := parseLinkValue(h, i)
		if ok {
			out = append(out, l)
		}
		i = next
	}
	return out
}

// parseLinkValue reads the link-value at h[i:]. It returns the index after
// it (at a comma or the end), and false when the value is malformed; the
// index is then after the next comma outside a quoted string.
func parseLinkValue(h string, i int) (webLink, int, bool) {
	if h[i] != '<' {
		return webLink{}, skipElement(h, i), false
	}
	end := strings.IndexByte(h[i+1:], '>')
	if end < 0 {
		return webLink{}, len(h), false
	}
	l := webLink{target: strings.TrimSpace(h[i+1 : i+1+end])}
	i += end + 2
	for {
		i = skipOWS(h, i)
		if i == len(h) || h[i] == ',' {
			return l, i, true
		}
		if h[i] != ';' {
			return webLink{}, skipElement(h, i), false
		}
		i = skipOWS(h, i+1)
		if i == len(h) || h[i] == ';' || h[i] == ',' {
			continue // an empty parameter, as in "<u>;; rel=next;"
		}
		start := i
		for i < len(h) && isTokenChar(h[i]) {
			i++
		}
		if i == start {
			return webLink{}, skipElement(h, i), false
		}
		p := linkParam{name: strings.ToLower(h[start:i])}
		i = skipOWS(h, i)
		if i < len(h) && h[i] == '=' {
			i = skipOWS(h, i+1)
			var ok bool
			if p.value, i, ok = paramValue(h, i); !ok {
				return webLink{}, skipElement(h, i), false
			}
		}
		l.params = append(l.params, p)
	}
}

// paramValue reads a token or a quoted string at h[i:] and returns it, the
// index after it, and false if there is neither or the quote is not closed.
func paramValue(h string, i int) (string, int, bool) {
	if i < len(h) && h[i] == '"' {
		var b strings.Builder
		for i++; i < len(h); i++ {
			switch c := h[i]; c {
			case '"':
				return b.String(), i + 1, true
			case '\\':
				if i+1 < len(h) {
					i++
					b.WriteByte(h[i])
				}
			default:
				b.WriteByte(c)
			}
		}
		return "", i, false
	}
	start := i
	for i < len(h) && isTokenChar(h[i]) {
		i++
	}
	return h[start:i], i, i > start
}

// skipElement returns the index after the first comma at or after h[i:]
// that is outside a quoted string, or len(h).
func skipElement(h string, i int) int {
	quoted := false
	for ; i < len(h); i++ {
		switch h[i] {
		case '\\':
			if quoted {
				i++
			}
		case '"':
			quoted = !quoted
		case ',':
			if !quoted {
				return i + 1
			}
		}
	}
	return len(h)
}

func skipOWS(h string, i int) int {
	for i < len(h) && (h[i] == ' ' || h[i] == '\t') {
		i++
	}
	return i
}

// isTokenChar reports whether c is a tchar of RFC 9110 §5.6.2.
func isTokenChar(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
		strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0
}
