package wire

import (
	"net/url"
	"reflect"
	"strings"
	"testing"
)

func TestAppendQuery(t *testing.T) {
	for in, want := range map[string]string{
		"":                                 "",
		"limit=2&sort=-n_elements,formula": "limit=2&sort=-n_elements%2Cformula",
		"sort=-a%2Cb":                      "sort=-a%2Cb",
		"tags[all]=Ti,O&score[gt]=0":       "tags%5Ball%5D=Ti%2CO&score%5Bgt%5D=0",
		"q=a+b&x=%e6%97%a5":                "q=a+b&x=%e6%97%a5",
		`v=<a>;"b" c|d{e}^`:                "v=%3Ca%3E%3B%22b%22%20c%7Cd%7Be%7D%5E",
		"fields[]=ID>=5":                   "fields%5B%5D=ID%3E%3D5",
		"a==b&=c&flag&&x=":                 "a=%3Db&=c&flag&&x=",
		"bad=%zz&end=%4":                   "bad=%25zz&end=%254",
		"v=日本":                             "v=%E6%97%A5%E6%9C%AC",
		"v=~._-":                           "v=~._-",
	} {
		if got := string(AppendQuery(nil, in)); got != want {
			t.Errorf("AppendQuery(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestAppendPath(t *testing.T) {
	for in, want := range map[string]string{
		"":                 "",
		"/v1/entries":      "/v1/entries",
		"/v1/a,b;c":        "/v1/a%2Cb%3Bc",
		"/v1/a%2Cb":        "/v1/a%2Cb",
		"/v1/a+b@c:d":      "/v1/a%2Bb%40c%3Ad",
		"/gocdbpi/public/": "/gocdbpi/public/",
	} {
		if got := string(AppendPath(nil, in)); got != want {
			t.Errorf("AppendPath(%q) = %q, want %q", in, got, want)
		}
	}
}

// linkSafe reports whether s holds only what a link may carry unescaped:
// the unreserved characters, '%' escapes and the delimiters extra allows.
func linkSafe(s, extra string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case unreserved(c) || strings.IndexByte(extra, c) >= 0:
		case c == '%' && i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2]):
			i += 2
		default:
			return false
		}
	}
	return true
}

// FuzzAppendQuery: the result holds no byte a link list could split on,
// reads back as the same parameters wherever the input parsed, and is
// left as it is by a second pass.
func FuzzAppendQuery(f *testing.F) {
	for _, s := range []string{"sort=-a,b&limit=2", "a=%2C&b=+c", "x=a=b;c", "%zz=<>", "k&&=&"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		out := string(AppendQuery(nil, raw))
		if !linkSafe(out, "&=+") {
			t.Fatalf("AppendQuery(%q) = %q holds an unsafe byte", raw, out)
		}
		if again := string(AppendQuery(nil, out)); again != out {
			t.Fatalf("AppendQuery(%q) = %q, again %q", raw, out, again)
		}
		want, err := url.ParseQuery(raw)
		if err != nil {
			return
		}
		got, err := url.ParseQuery(out)
		if err != nil {
			t.Fatalf("%q parsed, its link form %q does not: %v", raw, out, err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("%q reads %v; its link form %q reads %v", raw, want, out, got)
		}
	})
}

// FuzzAppendPath: the same for paths, decoded as url.PathUnescape does.
func FuzzAppendPath(f *testing.F) {
	for _, s := range []string{"/v1/a,b", "/x%2Fy/;z", "/%zz+"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, p string) {
		out := string(AppendPath(nil, p))
		if !linkSafe(out, "/") {
			t.Fatalf("AppendPath(%q) = %q holds an unsafe byte", p, out)
		}
		if again := string(AppendPath(nil, out)); again != out {
			t.Fatalf("AppendPath(%q) = %q, again %q", p, out, again)
		}
		want, err := url.PathUnescape(p)
		if err != nil {
			return
		}
		if got, err := url.PathUnescape(out); err != nil || got != want {
			t.Fatalf("%q decodes to %q; its link form %q to %q (%v)", p, want, out, got, err)
		}
	})
}

func TestAppendRequestURI(t *testing.T) {
	for in, want := range map[string]string{
		"/dois":                                  "/dois",
		"/dois?":                                 "/dois?",
		"/dois?page[size]=2&sort=-created,title": "/dois?page%5Bsize%5D=2&sort=-created%2Ctitle",
		"/v1/a,b?x=1":                            "/v1/a%2Cb?x=1",
	} {
		u, err := url.ParseRequestURI(in)
		if err != nil {
			t.Fatal(err)
		}
		if got := string(AppendRequestURI(nil, u)); got != want {
			t.Errorf("AppendRequestURI(%q) = %q, want %q", in, got, want)
		}
	}
}
