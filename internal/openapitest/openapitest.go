// Package openapitest holds folio's responses to the OpenAPI document it
// publishes, with a maintained validator (pb33f/libopenapi-validator):
// the document itself against the OpenAPI 3.1 schema, and each response
// against the operation its request names.
package openapitest

import (
	"bytes"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/pb33f/libopenapi"
	validator "github.com/pb33f/libopenapi-validator"
	"github.com/pb33f/libopenapi-validator/errors"
	"github.com/pb33f/libopenapi-validator/helpers"
)

// Validator checks responses against one document.
type Validator struct {
	v validator.Validator
}

// New parses doc, fails t unless it is a valid OpenAPI document, and
// returns a validator of responses against it.
func New(t testing.TB, doc []byte) *Validator {
	t.Helper()
	d, err := libopenapi.NewDocument(doc)
	if err != nil {
		t.Fatalf("openapi: the document does not parse: %v", err)
	}
	v, errs := validator.NewValidator(d)
	if len(errs) > 0 {
		t.Fatalf("openapi: no validator for the document: %v", errs)
	}
	if ok, verrs := v.ValidateDocument(); !ok {
		for _, e := range verrs {
			t.Errorf("openapi: the document is invalid: %s", e.Error())
			for _, f := range e.SchemaValidationErrors {
				t.Errorf("  at %s: %s", f.FieldPath, f.Reason)
			}
		}
		t.FailNow()
	}
	return &Validator{v: v}
}

// Fetch reads the document the server at base publishes at /openapi.json
// and returns a validator against it.
func Fetch(t testing.TB, base string) *Validator {
	t.Helper()
	resp, err := http.Get(base + "/openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /openapi.json: %d %v", resp.StatusCode, err)
	}
	return New(t, b)
}

// Check fails t unless resp (whose body is body) is one the document
// describes for req. A 404 or 405 for a path or method the document does
// not list is the server saying so, which no document can describe path
// by path; those pass.
func (v *Validator) Check(t testing.TB, req *http.Request, resp *http.Response, body []byte) {
	t.Helper()
	for _, e := range v.Errors(req, resp, body) {
		t.Errorf("%s %s → %d: %s", req.Method, req.URL.RequestURI(), resp.StatusCode, e)
	}
}

func (v *Validator) validate(req *http.Request, resp *http.Response, body []byte) (bool, []*errors.ValidationError) {
	r := *resp
	r.Body = io.NopCloser(bytes.NewReader(body))
	r.Request = req
	return v.v.ValidateHttpResponse(req, &r)
}

func notFound(errs []*errors.ValidationError) bool {
	for _, e := range errs {
		if e.ValidationType == helpers.PathValidation {
			return true
		}
	}
	return false
}

// Errors returns what in resp the document does not describe.
func (v *Validator) Errors(req *http.Request, resp *http.Response, body []byte) []string {
	ok, errs := v.validate(req, resp, body)
	if ok {
		return nil
	}
	if notFound(errs) {
		// A key holding '/' (a DOI) may be sent as is or as %2F, and is
		// served the same; a path template matches it only as %2F.
		segs := strings.Split(req.URL.EscapedPath(), "/")
		for k := len(segs) - 2; k >= 2; k-- {
			r2 := req.Clone(req.Context())
			raw := strings.Join(segs[:k], "/") + "/" + strings.Join(segs[k:], "%2F")
			r2.URL.RawPath = raw
			r2.URL.Path = req.URL.Path
			if ok2, errs2 := v.validate(r2, resp, body); ok2 || !notFound(errs2) {
				ok, errs = ok2, errs2
				break
			}
		}
		if ok {
			return nil
		}
	}
	var out []string
	for _, e := range errs {
		if (resp.StatusCode == http.StatusNotFound || resp.StatusCode == http.StatusMethodNotAllowed) &&
			(e.ValidationType == helpers.PathValidation || strings.Contains(e.Message, "not found")) {
			continue
		}
		msg := e.Error()
		for _, f := range e.SchemaValidationErrors {
			msg += "; at " + f.FieldPath + ": " + f.Reason
		}
		out = append(out, msg)
	}
	return out
}
