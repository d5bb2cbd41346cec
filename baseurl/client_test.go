package baseurl

import (
	"net/http/httptest"
	"testing"
)

// TestClient: the client's address is the peer's unless the peer is a
// trusted proxy; then the last address the trusted proxies recorded that
// is not one of them. An address the client wrote itself is never
// believed.
func TestClient(t *testing.T) {
	res, err := New("", []string{"10.0.0.0/8", "::1"})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, peer string
		header     map[string]string
		want       string
	}{
		{"untrusted peer", "192.0.2.7:5000", map[string]string{"X-Forwarded-For": "198.51.100.1"}, "192.0.2.7"},
		{"trusted peer, no header", "10.1.2.3:5000", nil, "10.1.2.3"},
		{"one trusted proxy", "10.1.2.3:5000", map[string]string{"X-Forwarded-For": "198.51.100.1"}, "198.51.100.1"},
		{"a client's own entry before it", "10.1.2.3:5000", map[string]string{"X-Forwarded-For": "203.0.113.9, 198.51.100.1"}, "198.51.100.1"},
		{"two trusted proxies", "10.1.2.3:5000", map[string]string{"X-Forwarded-For": "203.0.113.9, 198.51.100.1, 10.9.9.9"}, "198.51.100.1"},
		{"Forwarded", "[::1]:5000", map[string]string{"Forwarded": `for=203.0.113.9, for="[2001:db8::1]:80"`}, "2001:db8::1"},
		{"all trusted", "10.1.2.3:5000", map[string]string{"X-Forwarded-For": "10.4.4.4"}, "10.4.4.4"},
		{"garbage", "10.1.2.3:5000", map[string]string{"X-Forwarded-For": "not an address"}, "10.1.2.3"},
	} {
		r := httptest.NewRequest("GET", "/", nil)
		r.RemoteAddr = tc.peer
		for k, v := range tc.header {
			r.Header.Set(k, v)
		}
		if got := res.Client(r); got != tc.want {
			t.Errorf("%s: client %q, want %q", tc.name, got, tc.want)
		}
	}
}
