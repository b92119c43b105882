package schema

import (
	"encoding/json"
	"errors"
	"testing"
)

func TestToGeminiTranslatesEachConstruct(t *testing.T) {
	for _, tc := range []struct {
		name, in, want string
	}{
		{"types are upper-cased",
			`{"type":"object","properties":{"s":{"type":"string"},"n":{"type":"number"},"i":{"type":"integer"},"b":{"type":"boolean"},"a":{"type":"array","items":{"type":"string"}}}}`,
			`{"properties":{"a":{"items":{"type":"STRING"},"type":"ARRAY"},"b":{"type":"BOOLEAN"},"i":{"type":"INTEGER"},"n":{"type":"NUMBER"},"s":{"type":"STRING"}},"type":"OBJECT"}`},
		{"additionalProperties, strict and $schema are dropped",
			`{"$schema":"https://json-schema.org/draft/2020-12/schema","type":"object","strict":true,"additionalProperties":false,"properties":{"x":{"type":"string"}},"required":["x"]}`,
			`{"properties":{"x":{"type":"STRING"}},"required":["x"],"type":"OBJECT"}`},
		{"type list with null becomes nullable",
			`{"type":["string","null"],"description":"maybe"}`,
			`{"description":"maybe","nullable":true,"type":"STRING"}`},
		{"anyOf with null becomes nullable",
			`{"anyOf":[{"type":"integer","minimum":0},{"type":"null"}]}`,
			`{"minimum":0,"nullable":true,"type":"INTEGER"}`},
		{"anyOf is kept",
			`{"anyOf":[{"type":"string"},{"type":"integer"}]}`,
			`{"anyOf":[{"type":"STRING"},{"type":"INTEGER"}]}`},
		{"oneOf becomes anyOf",
			`{"oneOf":[{"type":"string"},{"type":"boolean"}]}`,
			`{"anyOf":[{"type":"STRING"},{"type":"BOOLEAN"}]}`},
		{"string enum gets format enum",
			`{"type":"string","enum":["c","f"]}`,
			`{"enum":["c","f"],"format":"enum","type":"STRING"}`},
		{"const becomes a one-value enum",
			`{"const":"yes"}`,
			`{"enum":["yes"],"format":"enum","type":"STRING"}`},
		{"non-recursive $ref is inlined from $defs",
			`{"type":"object","properties":{"home":{"$ref":"#/$defs/addr","description":"where"}},"$defs":{"addr":{"type":"object","properties":{"city":{"type":"string"}}}}}`,
			`{"properties":{"home":{"description":"where","properties":{"city":{"type":"STRING"}},"type":"OBJECT"}},"type":"OBJECT"}`},
		{"definitions work too",
			`{"type":"object","properties":{"u":{"$ref":"#/definitions/u"}},"definitions":{"u":{"type":"string","format":"email"}}}`,
			`{"properties":{"u":{"type":"STRING"}},"type":"OBJECT"}`},
		{"single allOf is merged",
			`{"allOf":[{"type":"string","maxLength":3}]}`,
			`{"maxLength":3,"type":"STRING"}`},
		{"kept formats and bounds survive",
			`{"type":"object","properties":{"t":{"type":"string","format":"date-time","pattern":"^2"},"n":{"type":"integer","format":"int64","maximum":9,"exclusiveMinimum":0}}}`,
			`{"properties":{"n":{"format":"int64","maximum":9,"type":"INTEGER"},"t":{"format":"date-time","pattern":"^2","type":"STRING"}},"type":"OBJECT"}`},
		{"required is filtered to known properties",
			`{"type":"object","properties":{"a":{"type":"string"}},"required":["a","ghost"]}`,
			`{"properties":{"a":{"type":"STRING"}},"required":["a"],"type":"OBJECT"}`},
		{"tuple items with one schema",
			`{"type":"array","items":[{"type":"number"}],"uniqueItems":true}`,
			`{"items":{"type":"NUMBER"},"type":"ARRAY"}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ToGemini(json.RawMessage(tc.in))
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tc.want {
				t.Fatalf("got  %s\nwant %s", got, tc.want)
			}
		})
	}
}

func TestToGeminiRefusesWhatItCannotExpress(t *testing.T) {
	for _, tc := range []struct {
		name, in, construct, path string
	}{
		{"recursive $ref", `{"type":"object","properties":{"tree":{"$ref":"#/$defs/node"}},"$defs":{"node":{"type":"object","properties":{"kids":{"type":"array","items":{"$ref":"#/$defs/node"}}}}}}`,
			"$ref (recursive)", "properties.tree.properties.kids.items.$ref"},
		{"external $ref", `{"type":"object","properties":{"x":{"$ref":"https://example.com/s.json"}}}`, "$ref (external)", "properties.x.$ref"},
		{"dangling $ref", `{"$ref":"#/$defs/missing"}`, "$ref", "$ref"},
		{"allOf of several", `{"properties":{"x":{"allOf":[{"type":"string"},{"maxLength":2}]}}}`, "allOf", "properties.x"},
		{"not", `{"not":{"type":"string"}}`, "not", ""},
		{"if/then", `{"if":{"type":"string"},"then":{"maxLength":1}}`, "if", ""},
		{"patternProperties", `{"type":"object","patternProperties":{"^x":{"type":"string"}}}`, "patternProperties", ""},
		{"integer enum", `{"type":"object","properties":{"level":{"type":"integer","enum":[1,2,3]}}}`, "enum (non-string)", "properties.level.enum"},
		{"union of two types", `{"type":["string","integer"]}`, "type (union)", "type"},
		{"not an object", `[1]`, "schema", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ToGemini(json.RawMessage(tc.in))
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("err = %v, want *schema.Error", err)
			}
			if e.Construct != tc.construct || e.Path != tc.path {
				t.Fatalf("construct=%q path=%q (%v), want %q at %q", e.Construct, e.Path, e, tc.construct, tc.path)
			}
		})
	}
}

func TestFromGeminiProducesJSONSchema(t *testing.T) {
	in := `{"type":"OBJECT","properties":{"unit":{"type":"STRING","format":"enum","enum":["c","f"],"nullable":true},"days":{"type":"ARRAY","items":{"type":"INTEGER"}}},"required":["days"],"propertyOrdering":["unit","days"]}`
	want := `{"properties":{"days":{"items":{"type":"integer"},"type":"array"},"unit":{"enum":["c","f"],"type":["string","null"]}},"required":["days"],"type":"object"}`
	got, err := FromGemini(json.RawMessage(in))
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != want {
		t.Fatalf("got  %s\nwant %s", got, want)
	}
	back, err := ToGemini(got)
	if err != nil {
		t.Fatal(err)
	}
	if string(back) != `{"properties":{"days":{"items":{"type":"INTEGER"},"type":"ARRAY"},"unit":{"enum":["c","f"],"format":"enum","nullable":true,"type":"STRING"}},"required":["days"],"type":"OBJECT"}` {
		t.Fatalf("round trip: %s", back)
	}
}

// FuzzToGemini: any schema translates into valid JSON or fails with *Error; recursion
// through $ref always terminates.
func FuzzToGemini(f *testing.F) {
	f.Add(`{"type":"object","properties":{"a":{"$ref":"#/$defs/a"}},"$defs":{"a":{"anyOf":[{"type":"string"},{"type":"null"}]}}}`)
	f.Add(`{"$ref":"#/$defs/x","$defs":{"x":{"$ref":"#/$defs/x"}}}`)
	f.Add(`{"type":["integer","null"],"enum":[1,null]}`)
	f.Fuzz(func(t *testing.T, in string) {
		out, err := ToGemini(json.RawMessage(in))
		if err != nil {
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("not a *schema.Error: %v", err)
			}
			return
		}
		if !json.Valid(out) {
			t.Fatalf("invalid JSON out: %s", out)
		}
	})
}
