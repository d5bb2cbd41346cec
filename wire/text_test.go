package wire

import (
	"encoding/xml"
	"strings"
	"testing"
)

func TestAppendXML(t *testing.T) {
	for in, want := range map[string]string{
		"":                   "",
		"plain text":         "plain text",
		`<a href="x">&'</a>`: "&lt;a href=&quot;x&quot;&gt;&amp;&apos;&lt;/a&gt;",
		"line\nbreak\ttab":   "line&#10;break&#9;tab",
		"é日本Ω":               "é日本Ω",
		"bad\xffbyte\x01":    "bad\uFFFDbyte\uFFFD",
	} {
		if got := string(AppendXML(nil, in)); got != want {
			t.Errorf("AppendXML(%q) = %q, want %q", in, got, want)
		}
	}
}

// FuzzAppendXML: whatever the input, the output is XML character data that
// reads back as the input with unrepresentable characters replaced.
func FuzzAppendXML(f *testing.F) {
	f.Add("a<b>&\"'\n\x00\xff日本")
	f.Fuzz(func(t *testing.T, s string) {
		doc := "<x>" + string(AppendXML(nil, s)) + "</x>"
		var v struct {
			Text string `xml:",chardata"`
		}
		if err := xml.Unmarshal([]byte(doc), &v); err != nil {
			t.Fatalf("%q gave invalid XML %q: %v", s, doc, err)
		}
		if !strings.Contains(s, "\r") && !strings.ContainsFunc(s, func(r rune) bool {
			return r < 0x20 && r != '\n' && r != '\t' || r == 0xFFFD || r == 0xFFFE || r == 0xFFFF
		}) && strings.ToValidUTF8(s, "") == s {
			if v.Text != s {
				t.Fatalf("%q read back as %q", s, v.Text)
			}
		}
	})
}
