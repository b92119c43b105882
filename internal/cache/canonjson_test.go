package cache

import (
	"encoding/json"
	"reflect"
	"testing"
)

func TestCanonicalJSONSpellingsOfOneDocumentAgree(t *testing.T) {
	cases := []struct{ name, a, b string }{
		{"whitespace", `{"a": 1, "b" : [1, 2]}`, "{\n  \"a\":1,\"b\":[1,2]\n}"},
		{"key order", `{"b":1,"a":{"d":2,"c":3}}`, `{"a":{"c":3,"d":2},"b":1}`},
		{"unicode escape", `{"k":"\u00e9\u0041"}`, `{"k":"éA"}`},
		{"slash escape", `"a\/b"`, `"a/b"`},
		{"surrogate pair", `"\ud83d\ude00"`, `"😀"`},
		{"control escape", `"\u000a\u0001"`, `"\n\u0001"`},
		{"float spelling", `[1.0, 1e2, 2.50, -0.0]`, `[1, 100, 2.5, 0]`},
		{"negative zero integer", `-0`, `0`},
		{"nested arrays of objects", `[{"y":1,"x":2},{"b":[{"d":1,"c":2}]}]`, `[{"x":2,"y":1},{"b":[{"c":2,"d":1}]}]`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ca, err := CanonicalJSON([]byte(c.a))
			if err != nil {
				t.Fatal(err)
			}
			cb, err := CanonicalJSON([]byte(c.b))
			if err != nil {
				t.Fatal(err)
			}
			if string(ca) != string(cb) {
				t.Fatalf("canonical forms differ:\n%s\n%s", ca, cb)
			}
		})
	}
}

func TestCanonicalJSONKeepsMeaning(t *testing.T) {
	docs := []string{
		`{"type":"object","properties":{"z":{"type":"string","enum":["b","a"]},"a":{"type":"integer","minimum":-3.5}},"required":["z","a"]}`,
		`[true,false,null,"x\"y\\z\t",12345678901234567890,{"":{}}]`,
		`{"dup":1,"dup":2}`,
	}
	for _, d := range docs {
		c, err := CanonicalJSON([]byte(d))
		if err != nil {
			t.Fatalf("%s: %v", d, err)
		}
		var want, got any
		if err := json.Unmarshal([]byte(d), &want); err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(c, &got); err != nil {
			t.Fatalf("canonical form %s is not JSON: %v", c, err)
		}
		if !reflect.DeepEqual(want, got) {
			t.Fatalf("canonical form changed the meaning:\n%s\n%s", d, c)
		}
		again, _ := CanonicalJSON(c)
		if string(again) != string(c) {
			t.Fatalf("not idempotent: %s then %s", c, again)
		}
	}
}

func TestCanonicalJSONDistinguishesDifferentDocuments(t *testing.T) {
	pairs := [][2]string{
		{`[1,2]`, `[2,1]`},
		{`{"a":"1"}`, `{"a":1}`},
		{`{"a":1}`, `{"a":1,"b":null}`},
		{`"a"`, `"a "`},
		{`{"a":{"b":1}}`, `{"a":{"c":1}}`},
	}
	for _, p := range pairs {
		a, _ := CanonicalJSON([]byte(p[0]))
		b, _ := CanonicalJSON([]byte(p[1]))
		if string(a) == string(b) {
			t.Errorf("%s and %s canonicalise alike: %s", p[0], p[1], a)
		}
	}
}

func TestCanonicalJSONRejectsInvalidInput(t *testing.T) {
	for _, d := range []string{``, `{`, `{"a"}`, `{"a":1,}`, `[1,]`, `01`, `1.`, `"\x"`, `"abc`, `tru`, `{} x`, `"\u12"`, "\"a\nb\""} {
		if _, err := CanonicalJSON([]byte(d)); err == nil {
			t.Errorf("%q: accepted", d)
		}
	}
}

func FuzzCanonicalJSON(f *testing.F) {
	for _, s := range []string{`{"b":1,"a":[1.50,"\u00e9",null]}`, `[]`, `"\ud83d\ude00"`, `-0.0e5`, `{"a":{"a":{}}}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, src []byte) {
		c, err := CanonicalJSON(src)
		if valid := json.Valid(src); valid != (err == nil) {
			t.Fatalf("json.Valid=%v but CanonicalJSON err=%v for %q", valid, err, src)
		}
		if err != nil {
			return
		}
		if !json.Valid(c) {
			t.Fatalf("canonical form %q of %q is not JSON", c, src)
		}
		again, err := CanonicalJSON(c)
		if err != nil || string(again) != string(c) {
			t.Fatalf("not idempotent: %q then %q (%v)", c, again, err)
		}
	})
}
