package gocdb

import (
	"encoding/xml"
	"strings"
	"testing"
)

// TestHugeInputEcho: an error repeats at most a bounded prefix of what the
// client sent, however large, and says that it cut it.
func TestHugeInputEcho(t *testing.T) {
	fx := newFixture(t)
	const base = "/gocdbpi/public/?method=get_downtime"
	huge := strings.Repeat("x", 900<<10)
	for _, target := range []string{
		"/gocdbpi/public/?method=" + huge,              // an unknown method
		base + "&" + huge + "=1",                       // an unsupported parameter
		base + "&severity=%22" + huge,                  // a refused character
		base + "&id=" + huge,                           // a value that is not an id
		base + "&startdate=" + huge + "&next_cursor=0", // nor a time
	} {
		r := get(fx.h, target)
		var e struct {
			XMLName xml.Name `xml:"error"`
			Text    string   `xml:",chardata"`
		}
		if err := xml.Unmarshal(r.body, &e); err != nil || r.status != 400 {
			t.Errorf("%.60s…: status %d, not an <error> document: %v", target, r.status, err)
			continue
		}
		if len(r.body) > 4096 || !strings.Contains(e.Text, "bytes in all)") {
			t.Errorf("%.60s…: %d bytes: %.300s", target, len(r.body), r.body)
		}
	}
}
