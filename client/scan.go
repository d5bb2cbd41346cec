package client

import (
	"bytes"
	"encoding/json"
)

// maxDepth is encoding/json's limit on nesting, kept so that a page is
// valid here exactly when json.Valid says so.
const maxDepth = 10000

// member is one member of a page's top-level object: its key (still
// quoted and escaped), its value and, when the value is an array, the
// array's elements.
type member struct {
	key   []byte
	value json.RawMessage
	elems []Record
}

// scanPage validates a page of JSON in one pass and returns, as subslices
// of b, the elements of a top-level array, or the members of a top-level
// object with the elements of those that are arrays. ok is false when b is
// not valid JSON (exactly when json.Valid is false; FuzzScanPage holds the
// two together). On a full harvest the client's decoding was the larger
// half of its work: encoding/json would validate a page and then scan it
// again to decode it, and again for the array inside.
func scanPage(b []byte) (elems []Record, members []member, ok bool) {
	s := scanner{b: b}
	if !s.value(1, &elems, &members) {
		return nil, nil, false
	}
	s.space()
	if s.i != len(b) {
		return nil, nil, false
	}
	return elems, members, true
}

type scanner struct {
	b []byte
	i int
}

func (s *scanner) space() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

// value scans one value at nesting depth (an array or object at the top is
// at depth 1), collecting an array's elements into elems and an object's
// members into members where they are not nil.
func (s *scanner) value(depth int, elems *[]Record, members *[]member) bool {
	s.space()
	if s.i >= len(s.b) {
		return false
	}
	switch c := s.b[s.i]; {
	case c == '{':
		return s.object(depth, members)
	case c == '[':
		return s.array(depth, elems)
	case c == '"':
		return s.str()
	case c == 't':
		return s.literal("true")
	case c == 'f':
		return s.literal("false")
	case c == 'n':
		return s.literal("null")
	case c == '-' || c >= '0' && c <= '9':
		return s.number()
	}
	return false
}

func (s *scanner) array(depth int, elems *[]Record) bool {
	if depth > maxDepth {
		return false
	}
	s.i++ // [
	s.space()
	if s.i < len(s.b) && s.b[s.i] == ']' {
		s.i++
		return true
	}
	for {
		s.space()
		start := s.i
		if !s.value(depth+1, nil, nil) {
			return false
		}
		if elems != nil {
			*elems = append(*elems, Record(s.b[start:s.i]))
		}
		s.space()
		if s.i >= len(s.b) {
			return false
		}
		switch s.b[s.i] {
		case ',':
			s.i++
		case ']':
			s.i++
			return true
		default:
			return false
		}
	}
}

func (s *scanner) object(depth int, members *[]member) bool {
	if depth > maxDepth {
		return false
	}
	s.i++ // {
	s.space()
	if s.i < len(s.b) && s.b[s.i] == '}' {
		s.i++
		return true
	}
	for {
		s.space()
		if s.i >= len(s.b) || s.b[s.i] != '"' {
			return false
		}
		ks := s.i
		if !s.str() {
			return false
		}
		ke := s.i
		s.space()
		if s.i >= len(s.b) || s.b[s.i] != ':' {
			return false
		}
		s.i++
		s.space()
		vs := s.i
		var m member
		var elems *[]Record
		if members != nil {
			elems = &m.elems
		}
		if !s.value(depth+1, elems, nil) {
			return false
		}
		if members != nil {
			m.key, m.value = s.b[ks:ke], s.b[vs:s.i]
			*members = append(*members, m)
		}
		s.space()
		if s.i >= len(s.b) {
			return false
		}
		switch s.b[s.i] {
		case ',':
			s.i++
		case '}':
			s.i++
			return true
		default:
			return false
		}
	}
}

func (s *scanner) str() bool {
	b := s.b
	i := s.i + 1 // "
	for i < len(b) {
		switch c := b[i]; {
		case c == '"':
			s.i = i + 1
			return true
		case c == '\\':
			if i+1 >= len(b) {
				return false
			}
			switch b[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				if i+5 >= len(b) {
					return false
				}
				for _, h := range b[i+2 : i+6] {
					if !(h >= '0' && h <= '9' || h >= 'a' && h <= 'f' || h >= 'A' && h <= 'F') {
						return false
					}
				}
				i += 6
			default:
				return false
			}
		case c < 0x20:
			return false
		default:
			i++
		}
	}
	return false
}

func (s *scanner) literal(lit string) bool {
	if !bytes.HasPrefix(s.b[s.i:], []byte(lit)) {
		return false
	}
	s.i += len(lit)
	return true
}

func (s *scanner) number() bool {
	b, i := s.b, s.i
	digits := func() bool {
		start := i
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
		return i > start
	}
	if b[i] == '-' {
		i++
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case !digits():
		return false
	}
	if i < len(b) && b[i] == '.' {
		i++
		if !digits() {
			return false
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if !digits() {
			return false
		}
	}
	s.i = i
	return true
}

// memberKey is a member's key as a string, unescaped the way encoding/json
// does (invalid UTF-8 becomes U+FFFD).
func memberKey(raw []byte) (string, error) {
	plain := true
	for _, c := range raw[1 : len(raw)-1] {
		if c == '\\' || c >= 0x80 {
			plain = false
			break
		}
	}
	if plain {
		return string(raw[1 : len(raw)-1]), nil
	}
	var k string
	err := json.Unmarshal(raw, &k)
	return k, err
}
