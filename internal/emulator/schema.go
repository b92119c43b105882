package emulator

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// The value generator writes a JSON value that satisfies a JSON schema: the tool-call
// arguments and json_schema answers of the brain. It covers what tool and response
// schemas use in practice: type (one or a list), enum, const, object (properties in
// schema order, required, optional ones included), array (items, prefixItems,
// minItems/maxItems, uniqueItems), string (minLength/maxLength, common formats),
// number and integer (minimum/maximum, exclusive bounds, multipleOf), boolean, null,
// anyOf/oneOf (first non-null branch), allOf (merged), and local $ref into $defs or
// definitions. It does not invent strings for a "pattern" (a string of the right
// length is written instead) or honour if/then/else, not, dependentSchemas.

type schema map[string]json.RawMessage

// maxSchemaDepth bounds recursion through self-referencing schemas.
const maxSchemaDepth = 12

type valueGen struct {
	root schema
	r    *rng
	// hint supplies realistic strings for place-like fields (a capitalised word of the
	// user's message), so "weather in Paris" yields {"location":"Paris"}.
	hint string
	// tag, when not empty, is written at the start of the first free-form string so
	// that JSON answers still say which model wrote them; it is cleared once used.
	tag string
}

// generateJSON returns a compact JSON value satisfying rawSchema (nil or invalid: an
// empty object).
func generateJSON(rawSchema json.RawMessage, r *rng, hint, tag string) string {
	var root schema
	if len(bytes.TrimSpace(rawSchema)) > 0 {
		if err := json.Unmarshal(rawSchema, &root); err != nil {
			root = nil
		}
	}
	if root == nil {
		root = schema{"type": json.RawMessage(`"object"`)}
	}
	g := &valueGen{root: root, r: r, hint: hint, tag: tag}
	var b bytes.Buffer
	g.value(&b, root, "", 0)
	return b.String()
}

func (s schema) str(key string) string {
	var v string
	if raw, ok := s[key]; ok {
		_ = json.Unmarshal(raw, &v)
	}
	return v
}

func (s schema) num(key string) (float64, bool) {
	raw, ok := s[key]
	if !ok {
		return 0, false
	}
	var v float64
	if err := json.Unmarshal(raw, &v); err != nil {
		return 0, false // draft-4 boolean exclusiveMinimum and the like
	}
	return v, true
}

func (s schema) boolean(key string) bool {
	var v bool
	if raw, ok := s[key]; ok {
		_ = json.Unmarshal(raw, &v)
	}
	return v
}

func (s schema) sub(key string) schema {
	raw, ok := s[key]
	if !ok {
		return nil
	}
	return toSchema(raw)
}

func (s schema) list(key string) []schema {
	var raws []json.RawMessage
	if raw, ok := s[key]; ok {
		_ = json.Unmarshal(raw, &raws)
	}
	out := make([]schema, 0, len(raws))
	for _, r := range raws {
		if sc := toSchema(r); sc != nil {
			out = append(out, sc)
		}
	}
	return out
}

// toSchema decodes a subschema; the boolean schema true becomes the empty schema.
func toSchema(raw json.RawMessage) schema {
	raw = bytes.TrimSpace(raw)
	if bytes.Equal(raw, []byte("true")) {
		return schema{}
	}
	var s schema
	if err := json.Unmarshal(raw, &s); err != nil {
		return nil
	}
	if s == nil {
		s = schema{}
	}
	return s
}

// types lists the schema's types ("type": "x" or ["x", "null"]).
func (s schema) types() []string {
	raw, ok := s["type"]
	if !ok {
		return nil
	}
	var one string
	if json.Unmarshal(raw, &one) == nil {
		return []string{one}
	}
	var many []string
	_ = json.Unmarshal(raw, &many)
	return many
}

// resolve follows local $refs ("#", "#/$defs/x", "#/definitions/x", any JSON pointer).
func (g *valueGen) resolve(s schema) schema {
	for i := 0; i < 16; i++ {
		ref := s.str("$ref")
		if ref == "" {
			return s
		}
		target := g.pointer(ref)
		if target == nil {
			delete(s, "$ref")
			return s
		}
		// Sibling keywords next to $ref (allowed since 2019-09) still apply.
		merged := schema{}
		for k, v := range target {
			merged[k] = v
		}
		for k, v := range s {
			if k != "$ref" {
				merged[k] = v
			}
		}
		s = merged
	}
	return s
}

func (g *valueGen) pointer(ref string) schema {
	if !strings.HasPrefix(ref, "#") {
		return nil
	}
	cur := g.root
	for _, tok := range strings.Split(strings.TrimPrefix(ref, "#"), "/") {
		if tok == "" {
			continue
		}
		tok = strings.ReplaceAll(strings.ReplaceAll(tok, "~1", "/"), "~0", "~")
		raw, ok := cur[tok]
		if !ok {
			return nil
		}
		cur = toSchema(raw)
		if cur == nil {
			return nil
		}
	}
	return cur
}

// mergeAllOf folds allOf branches into one schema: properties and required are
// unioned, other keywords keep the first value seen.
func (g *valueGen) mergeAllOf(s schema) schema {
	branches := s.list("allOf")
	if len(branches) == 0 {
		return s
	}
	out := schema{}
	for k, v := range s {
		if k != "allOf" {
			out[k] = v
		}
	}
	props := map[string]json.RawMessage{}
	var order []string
	var required []string
	add := func(sc schema) {
		keys, vals := orderedObject(sc["properties"])
		for _, k := range keys {
			if _, dup := props[k]; !dup {
				order = append(order, k)
			}
			props[k] = vals[k]
		}
		var req []string
		_ = json.Unmarshal(sc["required"], &req)
		required = append(required, req...)
		for k, v := range sc {
			if _, set := out[k]; !set && k != "properties" && k != "required" {
				out[k] = v
			}
		}
	}
	add(s)
	for _, b := range branches {
		add(g.mergeAllOf(g.resolve(b)))
	}
	if len(order) > 0 {
		var pb bytes.Buffer
		pb.WriteByte('{')
		for i, k := range order {
			if i > 0 {
				pb.WriteByte(',')
			}
			kb, _ := json.Marshal(k)
			pb.Write(kb)
			pb.WriteByte(':')
			pb.Write(props[k])
		}
		pb.WriteByte('}')
		out["properties"] = pb.Bytes()
		if _, ok := out["type"]; !ok {
			out["type"] = json.RawMessage(`"object"`)
		}
	}
	if len(required) > 0 {
		out["required"], _ = json.Marshal(required)
	}
	return out
}

// orderedObject returns the keys of a JSON object in document order, with values.
func orderedObject(raw json.RawMessage) ([]string, map[string]json.RawMessage) {
	if len(raw) == 0 {
		return nil, nil
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil, nil
	}
	var keys []string
	vals := map[string]json.RawMessage{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			break
		}
		k, _ := tok.(string)
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			break
		}
		if _, dup := vals[k]; !dup {
			keys = append(keys, k)
		}
		vals[k] = v
	}
	return keys, vals
}

func (g *valueGen) value(b *bytes.Buffer, s schema, name string, depth int) {
	if s == nil || depth > maxSchemaDepth {
		b.WriteString("null")
		return
	}
	s = g.mergeAllOf(g.resolve(s))
	if raw, ok := s["const"]; ok {
		compactInto(b, raw)
		return
	}
	if raw, ok := s["enum"]; ok {
		var vals []json.RawMessage
		if json.Unmarshal(raw, &vals) == nil && len(vals) > 0 {
			compactInto(b, pickNonNull(vals, g.r))
			return
		}
	}
	for _, key := range []string{"anyOf", "oneOf"} {
		if branches := s.list(key); len(branches) > 0 {
			chosen := branches[0]
			for _, br := range branches {
				if t := g.resolve(br).types(); !(len(t) == 1 && t[0] == "null") {
					chosen = br
					break
				}
			}
			// Keywords beside anyOf (a shared description, say) carry no constraint here.
			g.value(b, chosen, name, depth+1)
			return
		}
	}
	typ := ""
	for _, t := range s.types() {
		if t != "null" {
			typ = t
			break
		}
		typ = t
	}
	if typ == "" {
		switch {
		case s["properties"] != nil:
			typ = "object"
		case s["items"] != nil || s["prefixItems"] != nil:
			typ = "array"
		default:
			typ = "string"
		}
	}
	switch typ {
	case "object":
		g.object(b, s, depth)
	case "array":
		g.array(b, s, name, depth)
	case "integer":
		b.WriteString(strconv.FormatInt(g.integer(s), 10))
	case "number":
		b.WriteString(strconv.FormatFloat(g.number(s), 'f', -1, 64))
	case "boolean":
		if g.r.intn(2) == 0 {
			b.WriteString("true")
		} else {
			b.WriteString("false")
		}
	case "null":
		b.WriteString("null")
	default:
		str, _ := json.Marshal(g.str(s, name))
		b.Write(str)
	}
}

func pickNonNull(vals []json.RawMessage, r *rng) json.RawMessage {
	nonNull := vals[:0:0]
	for _, v := range vals {
		if !bytes.Equal(bytes.TrimSpace(v), []byte("null")) {
			nonNull = append(nonNull, v)
		}
	}
	if len(nonNull) == 0 {
		return vals[0]
	}
	return nonNull[r.intn(len(nonNull))]
}

func compactInto(b *bytes.Buffer, raw json.RawMessage) {
	if err := json.Compact(b, raw); err != nil {
		b.WriteString("null")
	}
}

func (g *valueGen) object(b *bytes.Buffer, s schema, depth int) {
	keys, props := orderedObject(s["properties"])
	var required []string
	_ = json.Unmarshal(s["required"], &required)
	isReq := map[string]bool{}
	for _, k := range required {
		isReq[k] = true
	}
	b.WriteByte('{')
	n := 0
	write := func(k string, sub schema) {
		if n > 0 {
			b.WriteByte(',')
		}
		kb, _ := json.Marshal(k)
		b.Write(kb)
		b.WriteByte(':')
		g.value(b, sub, k, depth+1)
		n++
	}
	for _, k := range keys {
		// Optional properties are filled too (models usually do), except deep in a
		// recursive schema where they would never end.
		if !isReq[k] && depth >= maxSchemaDepth/2 {
			continue
		}
		write(k, toSchema(props[k]))
	}
	// Required names without a property schema still need a value.
	for _, k := range required {
		if _, ok := props[k]; !ok {
			write(k, schema{})
		}
	}
	b.WriteByte('}')
}

func (g *valueGen) array(b *bytes.Buffer, s schema, name string, depth int) {
	prefix := s.list("prefixItems")
	items := s.sub("items")
	minItems := 0
	if v, ok := s.num("minItems"); ok {
		minItems = int(v)
	}
	lo, hi := max(minItems, 1), max(minItems, 3)
	if v, ok := s.num("maxItems"); ok {
		hi = int(v)
		if lo > hi {
			lo = hi
		}
	}
	if depth >= maxSchemaDepth/2 {
		lo, hi = minItems, minItems // recursive arrays: the fewest items allowed
	}
	n := lo + g.r.intn(hi-lo+1)
	if len(prefix) > 0 { // a tuple: exactly its members, unless the bounds say otherwise
		n = max(len(prefix), minItems)
		if v, ok := s.num("maxItems"); ok {
			n = min(n, int(v))
		}
	}
	unique := s.boolean("uniqueItems")
	seen := map[string]bool{}
	b.WriteByte('[')
	written := 0
	for i := 0; written < n && i < n+16; i++ {
		var sub schema
		if written < len(prefix) {
			sub = prefix[written]
		} else {
			sub = items
			if sub == nil {
				sub = schema{"type": json.RawMessage(`"string"`)}
			}
		}
		var vb bytes.Buffer
		g.value(&vb, sub, singular(name), depth+1)
		if unique && seen[vb.String()] {
			continue
		}
		seen[vb.String()] = true
		if written > 0 {
			b.WriteByte(',')
		}
		b.Write(vb.Bytes())
		written++
	}
	b.WriteByte(']')
}

func singular(name string) string {
	if strings.HasSuffix(name, "ies") {
		return strings.TrimSuffix(name, "ies") + "y"
	}
	if strings.HasSuffix(name, "s") && !strings.HasSuffix(name, "ss") {
		return strings.TrimSuffix(name, "s")
	}
	return name
}

// bounds returns the inclusive range allowed by minimum/maximum and their exclusive
// forms, with step the smallest increment (1 for integers).
func bounds(s schema, step float64) (lo, hi float64, hasLo, hasHi bool) {
	lo, hi = math.Inf(-1), math.Inf(1)
	if v, ok := s.num("minimum"); ok {
		lo, hasLo = v, true
	}
	if v, ok := s.num("exclusiveMinimum"); ok && (!hasLo || v+step > lo) {
		lo, hasLo = v+step, true
	}
	if v, ok := s.num("maximum"); ok {
		hi, hasHi = v, true
	}
	if v, ok := s.num("exclusiveMaximum"); ok && (!hasHi || v-step < hi) {
		hi, hasHi = v-step, true
	}
	switch {
	case !hasLo && !hasHi:
		lo, hi = 1, 100
	case !hasLo:
		lo = hi - 100
	case !hasHi:
		hi = lo + 100
	}
	if hi < lo {
		hi = lo
	}
	return lo, hi, hasLo, hasHi
}

func (g *valueGen) integer(s schema) int64 {
	lo, hi, _, _ := bounds(s, 1)
	ilo, ihi := int64(math.Ceil(lo)), int64(math.Floor(hi))
	if ihi < ilo {
		ihi = ilo
	}
	if m, ok := s.num("multipleOf"); ok && m >= 1 && m == math.Trunc(m) {
		step := int64(m)
		first := ilo
		if r := first % step; r != 0 {
			if first > 0 {
				first += step - r
			} else {
				first -= r
			}
		}
		count := (ihi-first)/step + 1
		if count < 1 {
			return first
		}
		return first + step*int64(g.r.intn(int(min(count, 1<<30))))
	}
	span := ihi - ilo + 1
	if span <= 0 || span > 1<<40 {
		span = 1 << 40
	}
	return ilo + int64(g.r.next()%uint64(span))
}

func (g *valueGen) number(s schema) float64 {
	lo, hi, _, _ := bounds(s, 0.01)
	if m, ok := s.num("multipleOf"); ok && m > 0 {
		first := math.Ceil(lo/m) * m
		count := math.Floor((hi-first)/m) + 1
		if count < 1 {
			return first
		}
		return first + m*float64(g.r.intn(int(math.Min(count, 1<<30))))
	}
	v := lo + g.r.float()*(hi-lo)
	v = math.Round(v*100) / 100
	if v < lo {
		v += 0.01
	}
	if v > hi {
		v = hi
	}
	return v
}

var (
	firstNames = []string{"Alex", "Maria", "Jordan", "Priya", "Chen", "Fatima", "Lucas", "Emma", "Kenji", "Sofia"}
	lastNames  = []string{"Morgan", "Garcia", "Lee", "Patel", "Wang", "Okafor", "Rossi", "Schmidt", "Tanaka", "Silva"}
	cities     = []string{"Paris", "Tokyo", "Lisbon", "Toronto", "Nairobi", "Berlin", "Austin", "Seoul", "Madrid", "Oslo"}
	nouns      = []string{"report", "invoice", "meeting", "order", "summary", "ticket", "project", "review", "budget", "schedule"}
)

func (g *valueGen) str(s schema, name string) string {
	lname := strings.ToLower(name)
	var v string
	switch s.str("format") {
	case "date-time":
		v = fmt.Sprintf("2025-%02d-%02dT%02d:%02d:00Z", 1+g.r.intn(12), 1+g.r.intn(28), g.r.intn(24), g.r.intn(60))
	case "date":
		v = fmt.Sprintf("2025-%02d-%02d", 1+g.r.intn(12), 1+g.r.intn(28))
	case "time":
		v = fmt.Sprintf("%02d:%02d:00", g.r.intn(24), g.r.intn(60))
	case "email":
		v = strings.ToLower(pick(g.r, firstNames)+"."+pick(g.r, lastNames)) + "@example.com"
	case "uri", "url", "iri", "uri-reference":
		v = "https://example.com/" + pick(g.r, nouns) + "s/" + strconv.Itoa(100+g.r.intn(900))
	case "uuid":
		x, y := g.r.next(), g.r.next()
		v = fmt.Sprintf("%08x-%04x-4%03x-a%03x-%012x", uint32(x), uint16(x>>32), uint16(x>>48)&0xfff, uint16(y)&0xfff, (y>>16)&0xffffffffffff)
	case "hostname":
		v = pick(g.r, nouns) + ".example.com"
	case "ipv4":
		v = fmt.Sprintf("10.%d.%d.%d", g.r.intn(256), g.r.intn(256), 1+g.r.intn(254))
	}
	if v == "" {
		switch {
		case strings.Contains(lname, "email"):
			v = strings.ToLower(pick(g.r, firstNames)+"."+pick(g.r, lastNames)) + "@example.com"
		case lname == "city" || strings.Contains(lname, "location") || strings.Contains(lname, "place") || strings.Contains(lname, "destination"):
			if g.hint != "" {
				v = g.hint
			} else {
				v = pick(g.r, cities)
			}
		case strings.Contains(lname, "name"):
			v = pick(g.r, firstNames) + " " + pick(g.r, lastNames)
		case lname == "id" || strings.HasSuffix(lname, "_id") || strings.HasSuffix(lname, "id"):
			v = fmt.Sprintf("%s_%06d", strings.TrimSuffix(strings.TrimSuffix(lname, "id"), "_"), g.r.intn(1000000))
			v = strings.TrimPrefix(v, "_")
		case strings.Contains(lname, "date"):
			v = fmt.Sprintf("2025-%02d-%02d", 1+g.r.intn(12), 1+g.r.intn(28))
		case strings.Contains(lname, "url"):
			v = "https://example.com/" + pick(g.r, nouns)
		case strings.Contains(lname, "unit"):
			v = pick(g.r, []string{"celsius", "fahrenheit"})
		case strings.Contains(lname, "query") || strings.Contains(lname, "text") || strings.Contains(lname, "description") ||
			strings.Contains(lname, "summary") || strings.Contains(lname, "answer") || strings.Contains(lname, "content") || name == "":
			v = sentence(g.r)
		default:
			v = pick(g.r, adjectives) + " " + pick(g.r, nouns)
		}
		if g.tag != "" {
			v = g.tag + v
			g.tag = ""
		}
	}
	if n, ok := s.num("maxLength"); ok && len([]rune(v)) > int(n) {
		v = string([]rune(v)[:int(n)])
	}
	if n, ok := s.num("minLength"); ok {
		for len([]rune(v)) < int(n) {
			v += " " + pick(g.r, nouns)
		}
		if m, ok := s.num("maxLength"); ok && len([]rune(v)) > int(m) {
			v = string([]rune(v)[:int(m)])
		}
	}
	return v
}
