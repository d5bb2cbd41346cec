package server

import (
	"bytes"
	"fmt"
	"mime"
	"net/http"
	"strconv"
	"strings"

	"github.com/klauspost/compress/gzhttp"
	"github.com/klauspost/compress/gzhttp/writer/gzkp"
	"github.com/klauspost/compress/gzhttp/writer/zstdkp"
	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
)

// The content codings folio sends; identity is "".
const (
	codingGzip = "gzip"
	codingZstd = "zstd"
)

// minCompressed is the smallest body worth compressing: below it the
// saving fits in the packet the body already takes.
const minCompressed = gzhttp.DefaultMinSize

// Levels of both paths that compress: gzhttp for what streams past the
// page cache, and encode for the bodies the cache keeps, so that a page
// has the same bytes whichever path sent it.
const (
	gzipLevel = gzip.DefaultCompression
	zstdLevel = int(zstd.SpeedFastest)
)

// negotiate picks the content coding of the answer to r from its
// Accept-Encoding (RFC 9110, 12.5.3): the acceptable coding of highest
// weight, zstd before gzip at equal weight, and a compressed one before
// identity unless identity is named with a higher weight. A coding the
// header does not name takes the weight of "*" if it is there. With no
// header, or one that refuses everything ("*;q=0"), the answer is
// identity: a server may send it rather than 406, and a client that
// asked for nothing reads it. HEAD is never compressed (gzhttp does not, and its headers
// must agree with what a GET would send with that coding).
func negotiate(r *http.Request) string {
	if r.Method == http.MethodHead {
		return ""
	}
	header := r.Header.Values("Accept-Encoding")
	if len(header) == 0 {
		return ""
	}
	q := map[string]float64{}
	for _, v := range header {
		for part := range strings.SplitSeq(v, ",") {
			coding, weight, ok := parseCoding(part)
			if !ok {
				continue
			}
			if coding == "x-gzip" {
				coding = codingGzip
			}
			q[coding] = weight
		}
	}
	weight := func(coding string) float64 {
		if w, ok := q[coding]; ok {
			return w
		}
		return q["*"] // 0 when absent too
	}
	// Identity, unless named with a weight, comes after any coding the
	// client accepts: a client that lists codings wants them.
	identity := 0.0
	if w, ok := q["identity"]; ok {
		identity = w
	}
	best, bestQ := "", 0.0
	for _, c := range []string{codingZstd, codingGzip} {
		if w := weight(c); w > bestQ {
			best, bestQ = c, w
		}
	}
	if best != "" && bestQ >= identity {
		return best
	}
	return ""
}

// parseCoding reads one element of Accept-Encoding: a coding, in lower
// case, and its weight (1 without a q parameter). A malformed weight makes
// the element count for nothing.
func parseCoding(s string) (coding string, q float64, ok bool) {
	coding, params, _ := strings.Cut(s, ";")
	coding = strings.ToLower(strings.TrimSpace(coding))
	if coding == "" {
		return "", 0, false
	}
	q = 1
	for p := range strings.SplitSeq(params, ";") {
		k, v, found := strings.Cut(strings.TrimSpace(p), "=")
		if !found || !strings.EqualFold(strings.TrimSpace(k), "q") {
			continue
		}
		w, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
		if err != nil || w < 0 || w > 1 {
			return "", 0, false
		}
		q = w
	}
	return coding, q, true
}

// compressResponses compresses answers with the coding negotiate picks,
// on gzhttp: whatever the page cache inside has not already encoded
// (streamed exports, flushed as they go, and answers too large to keep)
// is compressed as it is written, when it is at least minCompressed bytes
// and of a type worth it; every answer says Vary: Accept-Encoding. The
// request's Accept-Encoding is replaced by the one coding negotiated, so
// that gzhttp and the cache (which files bodies and ETags by coding) agree
// on it whatever the header's weights and wildcards said.
func compressResponses() (func(http.Handler) http.Handler, error) {
	wrap, err := gzhttp.NewWrapper(
		gzhttp.MinSize(minCompressed),
		gzhttp.CompressionLevel(gzipLevel),
		gzhttp.ZstdCompressionLevel(zstdLevel),
		gzhttp.ContentTypeFilter(compressible),
	)
	if err != nil {
		return nil, fmt.Errorf("server: compression: %w", err)
	}
	return func(next http.Handler) http.Handler {
		h := wrap(next)
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if c := negotiate(r); c != "" {
				r.Header.Set("Accept-Encoding", c)
			} else {
				r.Header.Del("Accept-Encoding")
			}
			h.ServeHTTP(w, r)
		})
	}, nil
}

// codingOf is the coding compressResponses negotiated for r.
func codingOf(r *http.Request) string {
	switch c := r.Header.Get("Accept-Encoding"); c {
	case codingGzip, codingZstd:
		return c
	}
	return ""
}

// compressible reports whether a body of content type ct shrinks when
// compressed: folio's JSON, NDJSON, CSV and XML, and any other text.
func compressible(ct string) bool {
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil {
		return false
	}
	return strings.HasPrefix(mt, "text/") || strings.HasSuffix(mt, "json") || strings.HasSuffix(mt, "xml")
}

// encode compresses body with coding, as gzhttp would have sent it.
func encode(coding string, body []byte) ([]byte, error) {
	var buf bytes.Buffer
	buf.Grow(len(body) / 4)
	var w interface {
		Write([]byte) (int, error)
		Close() error
	}
	switch coding {
	case codingGzip:
		w = gzkp.NewWriter(&buf, gzipLevel)
	case codingZstd:
		w = zstdkp.NewWriter(&buf, zstdLevel)
	default:
		return body, nil
	}
	if _, err := w.Write(body); err != nil {
		w.Close()
		return nil, fmt.Errorf("%s: %w", coding, err)
	}
	if err := w.Close(); err != nil {
		return nil, fmt.Errorf("%s: %w", coding, err)
	}
	return buf.Bytes(), nil
}

// worthCompressing reports whether a held answer with header h and body
// is compressed: as gzhttp decides, by size and type, unless the handler
// chose a coding itself.
func worthCompressing(h http.Header, body []byte) bool {
	return len(body) >= minCompressed && h.Get("Content-Encoding") == "" && compressible(h.Get("Content-Type"))
}
