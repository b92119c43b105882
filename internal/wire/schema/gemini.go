// Package schema translates JSON Schema (as OpenAI and Anthropic tools carry it) to
// and from the OpenAPI-3.0 subset that Gemini's functionDeclarations.parameters and
// generationConfig.responseSchema accept.
package schema

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
)

// Error is a schema that cannot be translated: Path is where (a JSON-pointer-like
// path such as "properties.items.items"), Construct what ("$ref (recursive)").
type Error struct {
	Path      string
	Construct string
	Reason    string
}

func (e *Error) Error() string {
	p := e.Path
	if p == "" {
		p = "(root)"
	}
	return fmt.Sprintf("%s at %s is not supported by Gemini: %s", e.Construct, p, e.Reason)
}

// dropped are JSON Schema keywords Gemini rejects whose absence does not change
// which arguments the model produces in practice: validation hints and metadata.
var dropped = map[string]bool{
	"$schema": true, "$id": true, "$comment": true, "$anchor": true,
	"additionalProperties": true, "unevaluatedProperties": true, "strict": true,
	"examples": true, "readOnly": true, "writeOnly": true, "deprecated": true,
	"contentEncoding": true, "contentMediaType": true, "uniqueItems": true,
	"multipleOf": true, "exclusiveMinimum": true, "exclusiveMaximum": true,
	"$defs": true, "definitions": true, "discriminator": true,
}

// refused are constructs Gemini cannot express; translating them would change what
// the model may answer, so they fail with a clear error instead.
var refused = map[string]string{
	"allOf":             "schema intersection has no Gemini equivalent",
	"not":               "negation has no Gemini equivalent",
	"if":                "conditional schemas have no Gemini equivalent",
	"then":              "conditional schemas have no Gemini equivalent",
	"else":              "conditional schemas have no Gemini equivalent",
	"patternProperties": "pattern-keyed properties have no Gemini equivalent",
	"dependentSchemas":  "dependent schemas have no Gemini equivalent",
	"dependentRequired": "dependent requirements have no Gemini equivalent",
	"prefixItems":       "tuple schemas have no Gemini equivalent",
	"contains":          "contains has no Gemini equivalent",
	"propertyNames":     "property-name schemas have no Gemini equivalent",
	"unevaluatedItems":  "unevaluatedItems has no Gemini equivalent",
	"additionalItems":   "additionalItems has no Gemini equivalent",
	"$dynamicRef":       "dynamic references have no Gemini equivalent",
	"$recursiveRef":     "recursive references have no Gemini equivalent",
}

// kept are keywords Gemini's Schema has, copied as they are.
var kept = map[string]bool{
	"description": true, "title": true, "default": true, "example": true,
	"minimum": true, "maximum": true, "minLength": true, "maxLength": true,
	"minItems": true, "maxItems": true, "minProperties": true, "maxProperties": true,
	"pattern": true, "propertyOrdering": true,
}

// geminiFormats are the string formats Gemini documents; others are dropped.
var geminiFormats = map[string]bool{"enum": true, "date-time": true, "int32": true, "int64": true, "float": true, "double": true}

// ToGemini translates a JSON Schema into Gemini's schema subset: types upper-cased,
// nullable types and anyOf-with-null turned into nullable, oneOf into anyOf, const
// into a one-value enum, non-recursive $ref inlined from $defs/definitions, and the
// keywords Gemini rejects (additionalProperties, strict, $schema, …) dropped.
// Constructs it cannot express fail with *Error naming the construct and the path.
func ToGemini(raw json.RawMessage) (json.RawMessage, error) {
	var root any
	d := json.NewDecoder(bytes.NewReader(raw))
	d.UseNumber()
	if err := d.Decode(&root); err != nil {
		return nil, &Error{Construct: "schema", Reason: "not valid JSON: " + err.Error()}
	}
	obj, ok := root.(map[string]any)
	if !ok {
		return nil, &Error{Construct: "schema", Reason: "a schema must be a JSON object"}
	}
	t := translator{defs: map[string]any{}}
	for _, k := range []string{"$defs", "definitions"} {
		if defs, ok := obj[k].(map[string]any); ok {
			for name, s := range defs {
				t.defs["#/"+k+"/"+name] = s
			}
		}
	}
	out, err := t.node(obj, "")
	if err != nil {
		return nil, err
	}
	b, err := json.Marshal(out)
	if err != nil {
		return nil, fmt.Errorf("schema: encoding: %w", err)
	}
	return b, nil
}

type translator struct {
	defs      map[string]any
	resolving []string // $ref chain, to detect recursion
}

func join(path, k string) string {
	if path == "" {
		return k
	}
	return path + "." + k
}

func (t *translator) node(v any, path string) (map[string]any, error) {
	s, ok := v.(map[string]any)
	if !ok {
		if b, isBool := v.(bool); isBool && b {
			return map[string]any{}, nil // "true" schema: anything
		}
		return nil, &Error{Path: path, Construct: "schema", Reason: fmt.Sprintf("expected an object, got %T", v)}
	}
	if ref, ok := s["$ref"].(string); ok {
		return t.ref(ref, s, path)
	}
	out := map[string]any{}
	keys := make([]string, 0, len(s))
	for k := range s {
		keys = append(keys, k)
	}
	sort.Strings(keys) // deterministic errors
	nullable := false
	for _, k := range keys {
		val := s[k]
		p := join(path, k)
		switch {
		case kept[k]:
			out[k] = val
		case dropped[k]:
		case refused[k] != "":
			if k == "allOf" {
				if list, ok := val.([]any); ok && len(list) == 1 {
					inner, err := t.node(list[0], join(p, "0"))
					if err != nil {
						return nil, err
					}
					for ik, iv := range inner {
						if _, set := out[ik]; !set {
							out[ik] = iv
						}
					}
					continue
				}
			}
			return nil, &Error{Path: path, Construct: k, Reason: refused[k]}
		case k == "type":
			typ, isNull, err := geminiType(val, p)
			if err != nil {
				return nil, err
			}
			if typ != "" {
				out["type"] = typ
			}
			nullable = nullable || isNull
		case k == "nullable":
			if b, ok := val.(bool); ok && b {
				nullable = true
			}
		case k == "format":
			if f, ok := val.(string); ok && geminiFormats[f] {
				out["format"] = f
			}
		case k == "enum":
			vals, err := stringEnum(val, p)
			if err != nil {
				return nil, err
			}
			out["enum"] = vals
		case k == "const":
			vals, err := stringEnum([]any{val}, p)
			if err != nil {
				return nil, err
			}
			out["enum"] = vals
		case k == "properties":
			props, ok := val.(map[string]any)
			if !ok {
				return nil, &Error{Path: p, Construct: "properties", Reason: "expected an object"}
			}
			outProps := make(map[string]any, len(props))
			for name, ps := range props {
				tr, err := t.node(ps, join(p, name))
				if err != nil {
					return nil, err
				}
				outProps[name] = tr
			}
			out["properties"] = outProps
		case k == "items":
			if list, ok := val.([]any); ok {
				if len(list) != 1 {
					return nil, &Error{Path: p, Construct: "items (tuple form)", Reason: "tuple schemas have no Gemini equivalent"}
				}
				val = list[0]
			}
			tr, err := t.node(val, p)
			if err != nil {
				return nil, err
			}
			out["items"] = tr
		case k == "required":
			out["required"] = val // filtered against properties below
		case k == "anyOf" || k == "oneOf":
			list, ok := val.([]any)
			if !ok || len(list) == 0 {
				return nil, &Error{Path: p, Construct: k, Reason: "expected a non-empty array"}
			}
			var alts []any
			for i, a := range list {
				if m, ok := a.(map[string]any); ok && m["type"] == "null" && len(m) == 1 {
					nullable = true
					continue
				}
				tr, err := t.node(a, join(p, fmt.Sprint(i)))
				if err != nil {
					return nil, err
				}
				alts = append(alts, tr)
			}
			if len(alts) == 1 {
				// X | null: Gemini's nullable X, the most common optional field shape.
				for ik, iv := range alts[0].(map[string]any) {
					if _, set := out[ik]; !set {
						out[ik] = iv
					}
				}
			} else if len(alts) > 1 {
				out["anyOf"] = alts
			}
		default:
			// Unknown keywords (vendor extensions, annotations) carry no constraint
			// Gemini could check: dropped.
		}
	}
	if req, ok := out["required"].([]any); ok {
		props, _ := out["properties"].(map[string]any)
		kept := make([]any, 0, len(req))
		for _, r := range req {
			if name, ok := r.(string); ok {
				if _, exists := props[name]; exists {
					kept = append(kept, name)
				}
			}
		}
		if len(kept) == 0 {
			delete(out, "required")
		} else {
			out["required"] = kept
		}
	}
	if _, hasEnum := out["enum"]; hasEnum {
		out["type"] = "STRING"
		out["format"] = "enum"
	}
	if _, typed := out["type"]; !typed {
		if _, ok := out["properties"]; ok {
			out["type"] = "OBJECT"
		} else if _, ok := out["items"]; ok {
			out["type"] = "ARRAY"
		}
	}
	if nullable {
		out["nullable"] = true
	}
	return out, nil
}

func (t *translator) ref(ref string, s map[string]any, path string) (map[string]any, error) {
	p := join(path, "$ref")
	target, ok := t.defs[ref]
	if !ok {
		if !strings.HasPrefix(ref, "#/") {
			return nil, &Error{Path: p, Construct: "$ref (external)", Reason: fmt.Sprintf("%q: only local references to $defs/definitions can be inlined", ref)}
		}
		return nil, &Error{Path: p, Construct: "$ref", Reason: fmt.Sprintf("%q does not name an entry of $defs or definitions", ref)}
	}
	for _, r := range t.resolving {
		if r == ref {
			return nil, &Error{Path: p, Construct: "$ref (recursive)", Reason: fmt.Sprintf("%q refers to itself; Gemini schemas cannot be recursive", ref)}
		}
	}
	t.resolving = append(t.resolving, ref)
	out, err := t.node(target, path)
	t.resolving = t.resolving[:len(t.resolving)-1]
	if err != nil {
		return nil, err
	}
	// Siblings of $ref (description, nullable) refine the inlined schema.
	if len(s) > 1 {
		rest := make(map[string]any, len(s)-1)
		for k, v := range s {
			if k != "$ref" {
				rest[k] = v
			}
		}
		sib, err := t.node(rest, path)
		if err != nil {
			return nil, err
		}
		for k, v := range sib {
			out[k] = v
		}
	}
	return out, nil
}

// geminiType maps a JSON Schema type (a name or a list of names) to Gemini's upper
// case name and whether null is allowed.
func geminiType(v any, path string) (string, bool, error) {
	var names []string
	switch x := v.(type) {
	case string:
		names = []string{x}
	case []any:
		for _, n := range x {
			s, ok := n.(string)
			if !ok {
				return "", false, &Error{Path: path, Construct: "type", Reason: "type list entries must be strings"}
			}
			names = append(names, s)
		}
	default:
		return "", false, &Error{Path: path, Construct: "type", Reason: "expected a string or an array of strings"}
	}
	nullable := false
	var typ string
	for _, n := range names {
		if n == "null" {
			nullable = true
			continue
		}
		if typ != "" {
			return "", false, &Error{Path: path, Construct: "type (union)", Reason: fmt.Sprintf("%v: use anyOf for several non-null types", names)}
		}
		switch n {
		case "string", "number", "integer", "boolean", "array", "object":
			typ = strings.ToUpper(n)
		default:
			return "", false, &Error{Path: path, Construct: "type", Reason: fmt.Sprintf("unknown type %q", n)}
		}
	}
	if typ == "" && nullable {
		typ = "NULL"
		nullable = false
	}
	return typ, nullable, nil
}

// stringEnum returns enum values as strings; Gemini enums are string-only.
func stringEnum(v any, path string) ([]any, error) {
	list, ok := v.([]any)
	if !ok {
		return nil, &Error{Path: path, Construct: "enum", Reason: "expected an array"}
	}
	out := make([]any, 0, len(list))
	for _, e := range list {
		s, ok := e.(string)
		if !ok {
			if e == nil {
				continue // null among the values: expressed by nullable
			}
			return nil, &Error{Path: path, Construct: "enum (non-string)", Reason: fmt.Sprintf("value %v: Gemini enums hold strings only", e)}
		}
		out = append(out, s)
	}
	return out, nil
}

// FromGemini translates a Gemini schema (as a Gemini client sends it) into JSON
// Schema: lower-case types, nullable as a type list including "null", format "enum"
// and propertyOrdering dropped, example as examples.
func FromGemini(raw json.RawMessage) (json.RawMessage, error) {
	var root any
	d := json.NewDecoder(bytes.NewReader(raw))
	d.UseNumber()
	if err := d.Decode(&root); err != nil {
		return nil, fmt.Errorf("schema: not valid JSON: %w", err)
	}
	out, err := fromGemini(root, "")
	if err != nil {
		return nil, err
	}
	b, err := json.Marshal(out)
	if err != nil {
		return nil, fmt.Errorf("schema: encoding: %w", err)
	}
	return b, nil
}

func fromGemini(v any, path string) (any, error) {
	s, ok := v.(map[string]any)
	if !ok {
		return nil, &Error{Path: path, Construct: "schema", Reason: fmt.Sprintf("expected an object, got %T", v)}
	}
	out := make(map[string]any, len(s))
	nullable := false
	for k, val := range s {
		p := join(path, k)
		switch k {
		case "type":
			if n, ok := val.(string); ok {
				if n == "TYPE_UNSPECIFIED" {
					continue
				}
				out["type"] = strings.ToLower(n)
			}
		case "nullable":
			nullable, _ = val.(bool)
		case "format":
			if f, _ := val.(string); f != "enum" && f != "" {
				out["format"] = f
			}
		case "propertyOrdering":
		case "example":
			out["examples"] = []any{val}
		case "properties":
			props, _ := val.(map[string]any)
			o := make(map[string]any, len(props))
			for name, ps := range props {
				tr, err := fromGemini(ps, join(p, name))
				if err != nil {
					return nil, err
				}
				o[name] = tr
			}
			out["properties"] = o
		case "items":
			tr, err := fromGemini(val, p)
			if err != nil {
				return nil, err
			}
			out["items"] = tr
		case "anyOf":
			list, _ := val.([]any)
			alts := make([]any, 0, len(list))
			for i, a := range list {
				tr, err := fromGemini(a, join(p, fmt.Sprint(i)))
				if err != nil {
					return nil, err
				}
				alts = append(alts, tr)
			}
			out["anyOf"] = alts
		default:
			out[k] = val
		}
	}
	if nullable {
		if t, ok := out["type"].(string); ok {
			out["type"] = []any{t, "null"}
		} else if alts, ok := out["anyOf"].([]any); ok {
			out["anyOf"] = append(alts, map[string]any{"type": "null"})
		}
	}
	return out, nil
}
