package face

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"

	"folio/baseurl"
)

type docsView struct {
	Base, OpenAPI, OpenAPIYAML string
	Tags                       []docsTag
}

type docsTag struct {
	Name, Description string
	Operations        []docsOp
}

type docsOp struct {
	ID, Method, Path, Summary, Description string
	Params                                 []docsParam
	Responses                              []docsResponse
}

type docsParam struct {
	Name, In, Schema, Description string
	Required                      bool
}

type docsResponse struct {
	Status, Description string
	Content             []string
	Schema              string
}

// Docs answers GET /docs: the API reference, rendered from the OpenAPI
// document the server publishes (no script, nothing fetched elsewhere).
func (f *Face) Docs() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		base := baseurl.Of(r)
		v := docsView{Base: base, OpenAPI: base + "/openapi.json", OpenAPIYAML: base + "/openapi.yaml"}
		root := f.doc.With(base)
		byTag := map[string]*docsTag{}
		for _, t := range root["tags"].([]any) {
			t := t.(map[string]any)
			v.Tags = append(v.Tags, docsTag{Name: t["name"].(string), Description: t["description"].(string)})
		}
		for i := range v.Tags {
			byTag[v.Tags[i].Name] = &v.Tags[i]
		}
		paths := f.doc.Paths()
		keys := make([]string, 0, len(paths))
		for k := range paths {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, path := range keys {
			item := paths[path].(map[string]any)
			for _, method := range []string{"get", "post"} {
				op, ok := item[method].(map[string]any)
				if !ok {
					continue
				}
				d := docsOp{ID: str(op["operationId"]), Method: strings.ToUpper(method), Path: path, Summary: str(op["summary"]), Description: str(op["description"])}
				params, _ := op["parameters"].([]any)
				for _, p := range params {
					p := p.(map[string]any)
					req, _ := p["required"].(bool)
					d.Params = append(d.Params, docsParam{Name: str(p["name"]), In: str(p["in"]), Schema: schemaText(p["schema"]), Description: str(p["description"]), Required: req})
				}
				resps, _ := op["responses"].(map[string]any)
				codes := make([]string, 0, len(resps))
				for k := range resps {
					codes = append(codes, k)
				}
				slices.Sort(codes)
				for _, code := range codes {
					rr := resps[code].(map[string]any)
					dr := docsResponse{Status: code, Description: str(rr["description"])}
					content, _ := rr["content"].(map[string]any)
					for ct, m := range content {
						dr.Content = append(dr.Content, ct)
						if s, ok := m.(map[string]any)["schema"]; ok && dr.Schema == "" {
							dr.Schema = schemaText(s)
						}
					}
					slices.Sort(dr.Content)
					d.Responses = append(d.Responses, dr)
				}
				for _, t := range op["tags"].([]any) {
					if dt := byTag[t.(string)]; dt != nil {
						dt.Operations = append(dt.Operations, d)
					}
				}
			}
		}
		f.render(w, r, http.StatusOK, "docs.html", "API reference", v)
	})
}

func str(v any) string {
	s, _ := v.(string)
	return s
}

// schemaText is a schema in a line: a reference by name, or its JSON.
func schemaText(s any) string {
	if m, ok := s.(map[string]any); ok {
		if ref, ok := m["$ref"].(string); ok {
			return strings.TrimPrefix(ref, "#/components/schemas/")
		}
	}
	b, _ := json.Marshal(s)
	return string(b)
}
