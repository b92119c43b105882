package tenant

import (
	"net/http/httptest"
	"strings"
	"testing"
)

func TestKeysMapToTenantsAndNeverKeepTheSecret(t *testing.T) {
	secret := "sk-arb-team-a-0123456789"
	k := NewKeys([]Key{{Name: "a", Secret: secret, Tenant: "team-a", AllowModels: []string{"gpt-4o-mini"}}}, false)
	ten := k.Authenticate(secret)
	if ten == nil || ten.ID != "team-a" || ten.CacheNamespace != "tenant:team-a" {
		t.Fatalf("tenant = %+v", ten)
	}
	if strings.Contains(ten.KeyID, secret) || !strings.HasPrefix(ten.KeyID, "key_") {
		t.Fatalf("key id %q", ten.KeyID)
	}
	if k.Authenticate("sk-wrong") != nil || k.Authenticate("") != nil {
		t.Fatal("unknown key accepted")
	}
	if !ten.Allows("GPT-4o-mini") || ten.Allows("gpt-4o") {
		t.Fatal("allow-list not applied")
	}
}

func TestOpenWhenNoKeysUnlessRequired(t *testing.T) {
	if ten := NewKeys(nil, false).Authenticate(""); ten == nil || ten.ID != Anonymous {
		t.Fatalf("open gateway: %+v", ten)
	}
	if NewKeys(nil, true).Authenticate("anything") != nil {
		t.Fatal("require_keys with no keys must refuse everything")
	}
}

func TestFromRequestReadsEachSDKsHeader(t *testing.T) {
	cases := map[string][2]string{
		"Authorization":  {"Bearer sk-1", "sk-1"},
		"x-api-key":      {"sk-2", "sk-2"},
		"x-goog-api-key": {"sk-3", "sk-3"},
	}
	for h, v := range cases {
		r := httptest.NewRequest("POST", "/", nil)
		r.Header.Set(h, v[0])
		if got := FromRequest(r); got != v[1] {
			t.Errorf("%s: got %q", h, got)
		}
	}
}
