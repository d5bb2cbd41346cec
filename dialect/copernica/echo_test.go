package copernica

import (
	"encoding/json"
	"strings"
	"testing"
)

// TestHugeInputEcho: an error repeats at most a bounded prefix of what the
// client sent, however large, and says that it cut it.
func TestHugeInputEcho(t *testing.T) {
	env := newFixture(t)
	huge := strings.Repeat("x", 900<<10)
	for _, target := range []string{
		"/v2/database/42/profiles?start=" + huge,
		"/v2/database/42/profiles?limit=9" + strings.Repeat("9", 900<<10),
		"/v2/database/42/profiles?order=" + huge,
		"/v2/database/42/profiles?orderby=" + huge,
		"/v2/database/42/profiles?fields[]=" + huge,
		"/v2/database/42/profiles?fields[]=ID%3E" + huge,
		"/v2/database/42/profiles?fields[]=name%3D~_" + huge,
		"/stream/v2/database/42/profiles?fields[]=city%3D" + huge,
	} {
		h := env.page
		if strings.HasPrefix(target, "/stream/") {
			h = env.stream
		}
		rec := get(h, target)
		var body struct {
			Error struct{ Message string } `json:"error"`
		}
		if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil || rec.Code != 400 {
			t.Errorf("%.60s…: status %d, %v", target, rec.Code, err)
			continue
		}
		if rec.Body.Len() > 4096 || !strings.Contains(body.Error.Message, "bytes in all)") {
			t.Errorf("%.60s…: %d bytes: %.300s", target, rec.Body.Len(), rec.Body)
		}
	}
}
