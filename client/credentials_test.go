package client

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

func TestParseNetrc(t *testing.T) {
	for _, tc := range []struct {
		name, text string
		want       Netrc
		wantErr    string
	}{
		{"one line", "machine api.example.org login me password s3cret", Netrc{"api.example.org": {"me", "s3cret"}}, ""},
		{"lines and default", "machine A\n  login a\n  password pa\n\ndefault login d password pd\n", Netrc{"a": {"a", "pa"}, "": {"d", "pd"}}, ""},
		{"comment and macro", "# mine\nmacdef init\ncd /pub\nget x\n\nmachine h login l password p account x port 21\n", Netrc{"h": {"l", "p"}}, ""},
		{"first entry wins", "machine h login one password 1\nmachine h login two password 2\n", Netrc{"h": {"one", "1"}}, ""},
		{"no password", "machine h login l", Netrc{"h": {"l", ""}}, ""},
		{"empty", "", Netrc{}, ""},
		{"dangling", "machine h login", nil, `"login" without a value`},
		{"unknown word", "machine h user u", nil, `unexpected word "user"`},
	} {
		got, err := ParseNetrc(strings.NewReader(tc.text))
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("%s: error %v, want %q", tc.name, err, tc.wantErr)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		if len(got) != len(tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
		for h, l := range tc.want {
			if got[h] != l {
				t.Errorf("%s: %s: %v, want %v", tc.name, h, got[h], l)
			}
		}
	}
}

func FuzzParseNetrc(f *testing.F) {
	f.Add("machine h login l password p\ndefault login d password q\n")
	f.Add("macdef x\nfoo\n\nmachine a login b")
	f.Add("# c\nmachine")
	f.Fuzz(func(t *testing.T, s string) {
		n, err := ParseNetrc(strings.NewReader(s))
		if err == nil && n == nil {
			t.Fatal("no logins and no error")
		}
	})
}

// seen records the credentials each request brought.
type seen struct {
	mu   sync.Mutex
	reqs []http.Header
}

func (s *seen) handler(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.reqs = append(s.reqs, r.Header.Clone())
		s.mu.Unlock()
		next.ServeHTTP(w, r)
	})
}

// TestCredentialsStayWithTheirOrigin: a token and headers go to the
// origin of the first request and nowhere else, not even through a
// redirect; a netrc login goes to the host it names.
func TestCredentialsStayWithTheirOrigin(t *testing.T) {
	var other seen
	elsewhere := httptest.NewServer(other.handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(`{"data":[]}`))
	})))
	defer elsewhere.Close()
	var home seen
	origin := httptest.NewServer(home.handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/away" {
			http.Redirect(w, r, elsewhere.URL+"/landed", http.StatusFound)
			return
		}
		w.Write([]byte(`{"data":[]}`))
	})))
	defer origin.Close()
	host := strings.TrimPrefix(elsewhere.URL, "http://")
	c := New(Options{Credentials: Credentials{
		Header: http.Header{"X-Api-Key": {"k-123"}},
		Token:  "t-456",
		Netrc:  Netrc{strings.Split(host, ":")[0]: {"user", "pw"}},
	}})
	ctx := context.Background()
	for _, u := range []string{origin.URL + "/a", origin.URL + "/away", elsewhere.URL + "/direct"} {
		if _, err := c.Fetch(ctx, Request{URL: u}); err != nil {
			t.Fatal(err)
		}
	}
	for i, h := range home.reqs {
		if h.Get("X-Api-Key") != "k-123" || h.Get("Authorization") != "Bearer t-456" {
			t.Errorf("request %d to the origin: %v", i, h)
		}
	}
	if len(other.reqs) != 2 {
		t.Fatalf("%d requests elsewhere, want the redirect's and the direct one", len(other.reqs))
	}
	for i, h := range other.reqs {
		if h.Get("X-Api-Key") != "" || strings.HasPrefix(h.Get("Authorization"), "Bearer") {
			t.Errorf("request %d elsewhere carried the origin's credentials: %v", i, h)
		}
		if u, p, ok := (&http.Request{Header: h}).BasicAuth(); !ok || u != "user" || p != "pw" {
			t.Errorf("request %d elsewhere: netrc login %q %q %v", i, u, p, ok)
		}
	}
}
