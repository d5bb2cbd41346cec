package baseurl

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

func TestParseForwarded(t *testing.T) {
	for _, tc := range []struct {
		name   string
		fields []string
		want   []Element
	}{
		// The examples of RFC 7239, section 4 and 7.
		{"rfc quoted ipv6", []string{`For="[2001:db8:cafe::17]:4711"`}, []Element{{For: "[2001:db8:cafe::17]:4711"}}},
		{"rfc proto and by", []string{`for=192.0.2.60;proto=http;by=203.0.113.43`}, []Element{{For: "192.0.2.60", Proto: "http", By: "203.0.113.43"}}},
		{"rfc two hops", []string{`for=192.0.2.43, for=198.51.100.17`}, []Element{{For: "192.0.2.43"}, {For: "198.51.100.17"}}},
		{"rfc obfuscated", []string{`for=_hidden, for=_SEVKISEK`}, []Element{{For: "_hidden"}, {For: "_SEVKISEK"}}},
		{"rfc unknown", []string{`for=unknown`}, []Element{{For: "unknown"}}},
		{"two fields are one list", []string{`for=192.0.2.43;host=a.example`, `for="[::1]:80";proto=https`}, []Element{{For: "192.0.2.43", Host: "a.example"}, {For: "[::1]:80", Proto: "https"}}},
		{"names in any case", []string{`FOR=1.2.3.4;Proto=HTTPS;HOST=x.example`}, []Element{{For: "1.2.3.4", Proto: "HTTPS", Host: "x.example"}}},
		{"quoted comma and semicolon stay inside", []string{`host="a,b;c", for=1.2.3.4`}, []Element{{Host: "a,b;c"}, {For: "1.2.3.4"}}},
		{"quoted pair", []string{`host="a\"b\\c"`}, []Element{{Host: `a"b\c`}}},
		{"spaces around the list and pairs", []string{`  for=1.2.3.4 ; proto=https ,  for=5.6.7.8  `}, []Element{{For: "1.2.3.4", Proto: "https"}, {For: "5.6.7.8"}}},
		{"empty list elements", []string{`,, for=1.2.3.4 ,,`}, []Element{{For: "1.2.3.4"}}},
		{"empty pairs", []string{`;for=1.2.3.4;;proto=http;`}, []Element{{For: "1.2.3.4", Proto: "http"}}},
		{"extension kept out", []string{`for=1.2.3.4;secret="x";proto=https`}, []Element{{For: "1.2.3.4", Proto: "https"}}},
		{"empty quoted value", []string{`host=""`}, []Element{{Host: ""}}},
		{"no fields", nil, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseForwarded(tc.fields)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestParseForwardedRejects(t *testing.T) {
	for _, f := range []string{
		`for=[2001:db8::17]:4711`, // IPv6 must be quoted: '[' is no tchar
		`for="1.2.3.4`,            // unterminated
		`for=1.2.3.4;for=5.6.7.8`, // a parameter twice in one element
		`for`,                     // no '='
		`for=`,                    // no value
		`=1.2.3.4`,                // no name
		`for=1.2.3.4 proto=http`,  // no separator
		`host="a` + "\x01" + `"`,  // a control byte in a quoted string
		`host="a\` + "\x01" + `"`, // and escaped
		`host="a\`,                // an escape at the end
		`for="1.2.3.4"x`,          // text after a quoted value
	} {
		if els, err := ParseForwarded([]string{f}); !errors.Is(err, ErrForwarded) {
			t.Errorf("%q: got %+v, %v; want ErrForwarded", f, els, err)
		}
	}
}

func TestNodeAddr(t *testing.T) {
	for _, tc := range []struct {
		node string
		want string // "" when not an address
	}{
		{"192.0.2.43", "192.0.2.43"},
		{"192.0.2.43:47011", "192.0.2.43"},
		{"192.0.2.43:_abc", "192.0.2.43"},
		{"[2001:db8:cafe::17]:4711", "2001:db8:cafe::17"},
		{"[::1]:80", "::1"},
		{"[::1]", "::1"},
		{"::1", ""},       // unbracketed IPv6 is not a node
		{"[1.2.3.4]", ""}, // brackets hold IPv6 only
		{"1.2.3.4:", ""},  // an empty port
		{"1.2.3.4:123456", ""},
		{"[::1]80", ""},
		{"[::1", ""},
		{"unknown", ""},
		{"_hidden", ""},
		{"", ""},
	} {
		a, ok := NodeAddr(tc.node)
		got := ""
		if ok {
			got = a.String()
		}
		if got != tc.want {
			t.Errorf("NodeAddr(%q) = %q, want %q", tc.node, got, tc.want)
		}
	}
}

// FuzzParseForwarded holds the parser to what its callers rely on: no
// panic, and a header it accepts round-trips: the elements written back in
// the RFC's syntax (every value quoted) parse to the same elements.
func FuzzParseForwarded(f *testing.F) {
	for _, s := range []string{
		`for="[2001:db8:cafe::17]:4711";proto=https;host=api.example.org`,
		`for=192.0.2.43, for=198.51.100.17;by=203.0.113.60;proto=http;host=example.com`,
		`host="a\"b", ,for=_hidden`,
		`for=unknown;;`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		els, err := ParseForwarded([]string{s})
		if err != nil {
			if !errors.Is(err, ErrForwarded) {
				t.Fatalf("%q: error %v does not wrap ErrForwarded", s, err)
			}
			return
		}
		var b strings.Builder
		for i, e := range els {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(`for=` + quote(e.For) + `;by=` + quote(e.By) + `;host=` + quote(e.Host) + `;proto=` + quote(e.Proto))
		}
		again, err := ParseForwarded([]string{b.String()})
		if err != nil {
			t.Fatalf("%q parsed to %+v, written back as %q, which fails: %v", s, els, b.String(), err)
		}
		if len(again) != len(els) || (len(els) > 0 && !reflect.DeepEqual(again, els)) {
			t.Fatalf("%q: %+v, then %+v", s, els, again)
		}
		for _, e := range els {
			if a, ok := NodeAddr(e.For); ok && !a.IsValid() {
				t.Fatalf("NodeAddr(%q) ok with an invalid address", e.For)
			}
		}
	})
}

func quote(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`)
	return `"` + r.Replace(s) + `"`
}
