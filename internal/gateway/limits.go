package gateway

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/arbiterhq/arbiter/internal/ledger"
	"github.com/arbiterhq/arbiter/internal/llm"
	"github.com/arbiterhq/arbiter/internal/tenant"
)

// Budget headers, on requests of budgeted keys that go upstream.
const (
	HeaderBudgetRemaining = "X-Arbiter-Budget-Remaining-Usd"
	HeaderBudgetReset     = "X-Arbiter-Budget-Reset"
)

// admitRate takes one request from the key's rate-limit buckets, writes the
// rate-limit headers in the client's vocabulary, and refuses with a 429 when a
// bucket is empty. It reports whether the request may go on.
func (x *exchange) admitRate() bool {
	l := x.g.o.Limits
	if l == nil || !x.tenant.Rate.Any() {
		return true
	}
	d := l.AdmitRate(x.r.Context(), x.tenant)
	if !d.Known { // the store failed: fail open
		return true
	}
	x.rateHeaders(d.State, l.Now())
	if d.Refused == "" {
		return true
	}
	b, unit := d.State.Requests, "requests per min (RPM)"
	if d.Refused == "tokens" {
		b, unit = d.State.Tokens, "tokens per min (TPM)"
	}
	wait := d.State.RetryAfter()
	msg := fmt.Sprintf("Rate limit reached for key %s on %s: Limit %d, Remaining %d. Please try again in %s.",
		x.keyLabel(), unit, b.Limit, b.Remaining(), wait.Round(time.Millisecond))
	x.refuse(refusal{openaiType: d.Refused, openaiCode: "rate_limit_exceeded", message: msg, retryAfter: wait})
	return false
}

// rateHeaders writes the state of the key's buckets: OpenAI's x-ratelimit-* (reset as
// a duration) or Anthropic's anthropic-ratelimit-* (reset as an RFC 3339 time).
func (x *exchange) rateHeaders(st tenant.RateState, now time.Time) {
	h := x.w.Header()
	for _, b := range []struct {
		name string
		b    tenant.Bucket
	}{{"requests", st.Requests}, {"tokens", st.Tokens}} {
		if b.b.Limit <= 0 {
			continue
		}
		limit, remaining := strconv.FormatInt(b.b.Limit, 10), strconv.FormatInt(b.b.Remaining(), 10)
		if x.s.format == llm.FormatAnthropic {
			h.Set("anthropic-ratelimit-"+b.name+"-limit", limit)
			h.Set("anthropic-ratelimit-"+b.name+"-remaining", remaining)
			h.Set("anthropic-ratelimit-"+b.name+"-reset", now.Add(b.b.Reset()).UTC().Format(time.RFC3339))
			continue
		}
		h.Set("x-ratelimit-limit-"+b.name, limit)
		h.Set("x-ratelimit-remaining-"+b.name, remaining)
		h.Set("x-ratelimit-reset-"+b.name, b.b.Reset().Round(time.Millisecond).String())
	}
}

// admitBudget refuses a request that would go upstream once the key's budget is
// spent. Cache hits never reach it: they cost nothing.
func (x *exchange) admitBudget(ctx context.Context) bool {
	l := x.g.o.Limits
	if l == nil || x.tenant.Budget == nil {
		return true
	}
	b := l.Budget(ctx, x.tenant)
	if !b.Known { // the store failed: fail open
		return true
	}
	h := x.w.Header()
	h.Set(HeaderBudgetRemaining, b.Remaining().Decimal())
	if !b.Window.End.IsZero() {
		h.Set(HeaderBudgetReset, b.Window.End.Format(time.RFC3339))
	}
	if !b.Exhausted() {
		return true
	}
	reset := "it does not reset (raise keys[].budget.usd to allow more)"
	if !b.Window.End.IsZero() {
		reset = "it resets at " + b.Window.End.Format(time.RFC3339)
	}
	msg := fmt.Sprintf("Key %s has reached its %s budget of %s (spent %s); %s.",
		x.keyLabel(), periodWord(b.Budget.Period), b.Budget.Limit, b.Spent, reset)
	// Retrying cannot help before the reset: tell the SDKs not to.
	h.Set("X-Should-Retry", "false")
	x.refuse(refusal{openaiType: "insufficient_quota", openaiCode: "insufficient_quota", message: msg})
	return false
}

func periodWord(p tenant.Period) string {
	switch p {
	case tenant.PeriodDay:
		return "daily"
	case tenant.PeriodMonth:
		return "monthly"
	}
	return "total"
}

// keyLabel names the key in messages: its id and name, never the secret.
func (x *exchange) keyLabel() string {
	if x.tenant.KeyName != "" {
		return x.tenant.KeyID + " (" + strconv.Quote(x.tenant.KeyName) + ")"
	}
	return x.tenant.KeyID
}

// refusal is a 429 of Arbiter's own limits.
type refusal struct {
	openaiType, openaiCode string
	message                string
	retryAfter             time.Duration
}

// refuse answers 429 in the client's format: OpenAI's body with the given type and
// code (its own wire codec has no insufficient_quota), Anthropic's rate_limit_error,
// the only type Anthropic sends with a 429.
func (x *exchange) refuse(r refusal) {
	h := x.w.Header()
	h.Set("Content-Type", "application/json")
	if r.retryAfter > 0 {
		h.Set("Retry-After", strconv.Itoa(int((r.retryAfter+time.Second-1)/time.Second)))
	}
	e := &llm.Error{Kind: llm.KindRateLimited, Message: r.message, Code: r.openaiCode, Type: r.openaiType, RetryAfter: r.retryAfter}
	_, body := x.s.encodeError(e)
	x.w.WriteHeader(http.StatusTooManyRequests)
	x.w.Write(body)
	x.finish(http.StatusTooManyRequests, e.Kind)
}

// charge counts a finished request against its key: what it cost, and the tokens the
// provider reported when it went upstream (cache hits and coalesced followers used
// none of their own).
func (x *exchange) charge() {
	l := x.g.o.Limits
	if l == nil || x.tenant == nil || (x.tenant.Budget == nil && x.tenant.Rate.TokensPerMinute <= 0) {
		return
	}
	var tokens int64
	if x.rec.Provider != "" && x.rec.Provider != "cache" && x.rec.Cache != ledger.CacheCoalesced {
		tokens = int64(x.rec.Usage.InputTokens) + int64(x.rec.Usage.OutputTokens)
	}
	if x.rec.Cost <= 0 && tokens == 0 {
		return
	}
	l.Charge(x.r.Context(), x.tenant, x.rec.Cost, tokens)
}

// keyView is one key in GET /admin/keys.
type keyView struct {
	ID        string      `json:"id"`
	Name      string      `json:"name"`
	Tenant    string      `json:"tenant"`
	Budget    *budgetView `json:"budget,omitempty"`
	RateLimit *rateView   `json:"rate_limit,omitempty"`
}

type budgetView struct {
	USD          string     `json:"usd"`
	Period       string     `json:"period"`
	PeriodStart  time.Time  `json:"period_start"`
	Resets       *time.Time `json:"resets_at"` // null: never (a total budget)
	SpentUSD     string     `json:"spent_usd,omitempty"`
	RemainingUSD string     `json:"remaining_usd,omitempty"`
	Exhausted    bool       `json:"exhausted"`
	// Known is false when the state could not be read (the store is down).
	Known bool `json:"known"`
}

type rateView struct {
	RequestsPerMinute int64 `json:"requests_per_minute"`
	TokensPerMinute   int64 `json:"tokens_per_minute"`
	// Remaining and full-again times, when the state could be read.
	RequestsRemaining *int64     `json:"requests_remaining,omitempty"`
	TokensRemaining   *int64     `json:"tokens_remaining,omitempty"`
	RequestsReset     *time.Time `json:"requests_reset,omitempty"`
	TokensReset       *time.Time `json:"tokens_reset,omitempty"`
	Known             bool       `json:"known"`
}

// adminKeys lists the virtual keys with their budgets, spend and rate-limit state.
func (g *Gateway) adminKeys(w http.ResponseWriter, r *http.Request) {
	out := []keyView{}
	for _, t := range g.o.Keys.List() {
		v := keyView{ID: t.KeyID, Name: t.KeyName, Tenant: t.ID}
		if t.Budget != nil {
			v.Budget = g.budgetView(r.Context(), t)
		}
		if t.Rate.Any() {
			v.RateLimit = g.rateView(r.Context(), t)
		}
		out = append(out, v)
	}
	writeJSON(w, http.StatusOK, map[string]any{"keys": out})
}

func (g *Gateway) budgetView(ctx context.Context, t *tenant.Tenant) *budgetView {
	var st tenant.BudgetState
	now := time.Now()
	if g.o.Limits != nil {
		st, now = g.o.Limits.Budget(ctx, t), g.o.Limits.Now()
	}
	win := t.Budget.Period.Window(now)
	v := &budgetView{USD: t.Budget.Limit.Decimal(), Period: string(t.Budget.Period), PeriodStart: win.Start, Known: st.Known}
	if !win.End.IsZero() {
		v.Resets = &win.End
	}
	if st.Known {
		v.SpentUSD, v.RemainingUSD, v.Exhausted = st.Spent.Decimal(), st.Remaining().Decimal(), st.Exhausted()
	}
	return v
}

func (g *Gateway) rateView(ctx context.Context, t *tenant.Tenant) *rateView {
	v := &rateView{RequestsPerMinute: t.Rate.RequestsPerMinute, TokensPerMinute: t.Rate.TokensPerMinute}
	if g.o.Limits == nil {
		return v
	}
	st, ok := g.o.Limits.RateState(ctx, t)
	if !ok {
		return v
	}
	v.Known = true
	now := g.o.Limits.Now().UTC()
	if st.Requests.Limit > 0 {
		n, at := st.Requests.Remaining(), now.Add(st.Requests.Reset())
		v.RequestsRemaining, v.RequestsReset = &n, &at
	}
	if st.Tokens.Limit > 0 {
		n, at := st.Tokens.Remaining(), now.Add(st.Tokens.Reset())
		v.TokensRemaining, v.TokensReset = &n, &at
	}
	return v
}
