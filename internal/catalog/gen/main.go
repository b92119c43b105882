// Command gen writes internal/catalog/models.yaml from the public price lists and
// ratings in ../shared/data/catalog (or -data): LiteLLM's model_prices json for
// prices, limits and capabilities, the LMArena text leaderboards and the Artificial
// Analysis intelligence index for quality, OpenRouter's list for missing context windows.
// The models are the explicit inclusion list in models.go.
//
//	go run ./internal/catalog/gen [-data DIR] [-out internal/catalog/models.yaml]
package main

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/arbiterhq/arbiter/internal/catalog"
	"github.com/arbiterhq/arbiter/internal/money"
)

const asOf = "2026-08-01"

// Quality scale: catalog.QualityFromElo, the probability that a human prefers a
// model's answer to that of a reference model rated catalog.ReferenceElo on the LMArena
// text leaderboard of 2025-08-06, by the Elo formula. It is in (0,1), monotone in the
// rating, and does not saturate for models rated above every anchor.
const eloRef = catalog.ReferenceElo

func score(elo float64) float64 { return catalog.QualityFromElo(elo) }

func main() {
	data := flag.String("data", "../shared/data/catalog", "directory of the source files (run from the repository root)")
	out := flag.String("out", "internal/catalog/models.yaml", "file to write")
	flag.Parse()
	if err := run(*data, *out); err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
}

type sources struct {
	litellm    map[string]map[string]any
	arena25    map[string]float64
	arena24    map[string]float64
	aa         map[string]float64
	openrouter map[string]orModel
}

type orModel struct {
	Context int
	AA      float64
}

func run(dir, out string) error {
	s, err := load(dir)
	if err != nil {
		return err
	}
	text, err := render(s)
	if err != nil {
		return err
	}
	// The output must load: the generator never writes a catalog the binary rejects.
	if _, err := catalog.Parse(text); err != nil {
		return fmt.Errorf("generated catalog is invalid: %w", err)
	}
	return os.WriteFile(out, text, 0o644)
}

func load(dir string) (*sources, error) {
	s := &sources{openrouter: map[string]orModel{}, aa: map[string]float64{}}
	if err := readJSON(filepath.Join(dir, "litellm_model_prices_"+asOf+".json"), &s.litellm); err != nil {
		return nil, err
	}
	for k, v := range manual {
		s.litellm[k] = v
	}
	var err error
	if s.arena25, err = readArena(filepath.Join(dir, "lmarena_text_2025-08-06.csv")); err != nil {
		return nil, err
	}
	if s.arena24, err = readArena(filepath.Join(dir, "lmsys_arena_2024-12-31.csv")); err != nil {
		return nil, err
	}
	var aa map[string]struct {
		Intelligence *float64 `json:"intelligence"`
	}
	if err := readJSON(filepath.Join(dir, "artificial_analysis_models_"+asOf+".json"), &aa); err != nil {
		return nil, err
	}
	for k, v := range aa {
		if v.Intelligence != nil {
			s.aa[k] = *v.Intelligence
		}
	}
	var or struct {
		Data []struct {
			ID            string `json:"id"`
			ContextLength int    `json:"context_length"`
			Benchmarks    struct {
				AA *struct {
					Intelligence float64 `json:"intelligence_index"`
				} `json:"artificial_analysis"`
			} `json:"benchmarks"`
		} `json:"data"`
	}
	if err := readJSON(filepath.Join(dir, "openrouter_models_"+asOf+".json"), &or); err != nil {
		return nil, err
	}
	for _, m := range or.Data {
		o := orModel{Context: m.ContextLength}
		if m.Benchmarks.AA != nil {
			o.AA = m.Benchmarks.AA.Intelligence
		}
		s.openrouter[m.ID] = o
	}
	return s, nil
}

func readJSON(path string, v any) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("decode %s: %w", path, err)
	}
	return nil
}

// readArena returns model → arena_score; the first row of a repeated name wins.
func readArena(path string) (map[string]float64, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	if len(rows) == 0 {
		return nil, fmt.Errorf("read %s: empty", path)
	}
	col := map[string]int{}
	for i, h := range rows[0] {
		col[h] = i
	}
	out := map[string]float64{}
	for _, r := range rows[1:] {
		v, err := strconv.ParseFloat(r[col["arena_score"]], 64)
		if err != nil {
			return nil, fmt.Errorf("read %s: %q: %w", path, r[col["model"]], err)
		}
		if _, dup := out[r[col["model"]]]; !dup {
			out[r[col["model"]]] = v
		}
	}
	return out, nil
}

// fit is a least-squares line y = a + b·x.
type fit struct{ a, b float64 }

func fitLine(xs, ys []float64) fit {
	n := float64(len(xs))
	var sx, sy, sxx, sxy float64
	for i := range xs {
		sx += xs[i]
		sy += ys[i]
		sxx += xs[i] * xs[i]
		sxy += xs[i] * ys[i]
	}
	b := (n*sxy - sx*sy) / (n*sxx - sx*sx)
	return fit{a: (sy - b*sx) / n, b: b}
}

func (f fit) at(x float64) float64 { return f.a + f.b*x }

type quality struct {
	score     float64
	source    string
	estimated bool
}

// scales fits the 2024 Arena table and the AA index onto the 2025 Arena scale.
func scales(s *sources) (a24, aa fit, naa int) {
	var xs, ys []float64
	for name, v := range s.arena24 {
		if w, ok := s.arena25[name]; ok {
			xs, ys = append(xs, v), append(ys, w)
		}
	}
	a24 = fitLine(xs, ys)
	xs, ys = nil, nil
	// AA ↔ Arena pairs are the included models rated by both: only they are matched by hand.
	for _, e := range entries {
		w, ok1 := s.arena25[e.arena]
		v, ok2 := s.aa[e.aa]
		if ok1 && ok2 {
			xs, ys = append(xs, v), append(ys, w)
		}
	}
	return a24, fitLine(xs, ys), len(xs)
}

func rate(e entry, s *sources, a24, aa fit) (quality, error) {
	var elos []float64
	var srcs []string
	if v, ok := s.arena25[e.arena]; ok {
		elos = append(elos, v)
		srcs = append(srcs, fmt.Sprintf("lmarena 2025-08-06 %s: %.0f", e.arena, v))
	} else if v, ok := s.arena24[e.arena]; ok {
		elo := a24.at(v)
		elos = append(elos, elo)
		srcs = append(srcs, fmt.Sprintf("lmsys 2024-12-31 %s: %.0f (%.0f on the 2025 scale)", e.arena, v, elo))
	} else if e.arena != "" {
		return quality{}, fmt.Errorf("%s: arena name %q not found", e.id, e.arena)
	}
	idx, ok := s.aa[e.aa]
	src := "artificial analysis"
	if !ok && e.openrouter != "" && s.openrouter[e.openrouter].AA > 0 {
		idx, ok, src = s.openrouter[e.openrouter].AA, true, "openrouter's artificial analysis"
	}
	if ok {
		elo := aa.at(idx)
		elos = append(elos, elo)
		srcs = append(srcs, fmt.Sprintf("%s index %s: %.1f (Elo %.0f by the fit)", src, e.aa, idx, elo))
	} else if e.aa != "" {
		return quality{}, fmt.Errorf("%s: artificial analysis slug %q not found", e.id, e.aa)
	}
	if len(elos) == 0 {
		if e.estimated == "" {
			return quality{}, fmt.Errorf("%s: no rating and no estimate", e.id)
		}
		return quality{score: e.estimate, source: "estimate: " + e.estimated, estimated: true}, nil
	}
	var sum float64
	for _, v := range elos {
		sum += v
	}
	elo := sum / float64(len(elos))
	src = strings.Join(srcs, "; ")
	if len(elos) > 1 {
		src = fmt.Sprintf("mean Elo %.0f of %s", elo, src)
	}
	return quality{score: score(elo), source: src}, nil
}

func num(m map[string]any, k string) (float64, bool) {
	v, ok := m[k].(float64)
	return v, ok
}

func flag_(m map[string]any, k string) bool { v, _ := m[k].(bool); return v }

// providerPrefix is how LiteLLM prefixes a provider's keys; the rest is the model name
// the provider's API takes.
var providerPrefix = map[string]string{
	"groq": "groq/", "together": "together_ai/", "fireworks": "fireworks_ai/", "deepinfra": "deepinfra/",
	"deepseek": "deepseek/", "mistral": "mistral/", "gemini": "gemini/", "openai": "", "anthropic": "manual:",
}

func price(m map[string]any, k string) string {
	v, ok := num(m, k)
	if !ok || v <= 0 {
		return ""
	}
	return money.USD(money.PerToken(v)).Decimal()
}

func render(s *sources) ([]byte, error) {
	a24, aa, naa := scales(s)
	var b bytes.Buffer
	fmt.Fprintf(&b, `# Arbiter model catalog. GENERATED by `+"`go run ./internal/catalog/gen`"+`; edit the
# inclusion list in internal/catalog/gen/models.go, not this file. Users override or add
# models and prices in their configuration (see catalog.Override).
#
# Figures as of %[1]s. Sources:
#   prices, context windows, capabilities: LiteLLM model_prices_and_context_window.json (%[1]s)
#   quality: LMArena text leaderboard (2025-08-06; 2024-12-31 snapshot as fallback) and the
#            Artificial Analysis intelligence index (%[1]s, also via OpenRouter's list)
#   context windows LiteLLM lacks: OpenRouter model list (%[1]s)
#
# Prices are US dollars per million tokens. input: uncached prompt tokens; cached_input:
# prompt tokens read from the provider's prompt cache (absent: no prompt cache, billed as
# input); cache_write: prompt tokens written to the cache (Anthropic; absent: billed as
# input); output: completion tokens; reasoning: reasoning tokens where billed apart from
# output (absent: at the output price); batch_*: the provider's batch API; long_context:
# the prices of a whole request whose prompt exceeds "above" input tokens.
# The first deployment of a model is its default, the one counterfactual costs are
# priced at: the vendor's own API, else Together AI for open-weight models it serves.
#
# Quality: score = 1 / (1 + 10^((%[2]g - Elo) / 400)), the Elo probability that a human
# prefers the model's answer to that of a model rated %[2]g (about GPT-4o-2024-08-06) on
# the 2025-08-06 LMArena text leaderboard. Elo is the mean of the ratings a model has:
#   - its LMArena 2025-08-06 score, as is; failing that its LMSYS Arena 2024-12-31 score
#     mapped onto the 2025 scale by a least-squares line over the models in both tables:
#     Elo2025 = %.1f + %.4f * Elo2024;
#   - its Artificial Analysis intelligence index mapped onto the 2025 Arena scale by a
#     least-squares line over the %d listed models rated by both: Elo = %.1f + %.2f * index.
# Arena measures human preference in chat, the AA index graded knowledge and reasoning;
# averaging the two keeps either one's quirks (GPT-4o-mini level with GPT-4o in the Arena)
# from deciding alone. A model with neither has an explicit estimate, marked
# "estimated: true" with its reasoning.
# Capabilities: union of LiteLLM's flags over a model's deployments (tools:
# supports_function_calling, vision: supports_vision, json_schema:
# supports_response_schema, reasoning: supports_reasoning); every chat model streams.
`, asOf, eloRef, a24.a, a24.b, naa, aa.a, aa.b)
	fmt.Fprintf(&b, "as_of: %q\nsources:\n", asOf)
	for _, src := range []string{
		"LiteLLM model_prices_and_context_window.json " + asOf,
		"LMArena text leaderboard 2025-08-06",
		"LMSYS Chatbot Arena 2024-12-31",
		"Artificial Analysis intelligence index " + asOf,
		"OpenRouter models list " + asOf,
	} {
		fmt.Fprintf(&b, "  - %q\n", src)
	}
	b.WriteString("models:\n")
	ids := map[string]bool{}
	var errs []error
	for _, e := range entries {
		if ids[e.id] {
			errs = append(errs, fmt.Errorf("%s listed twice", e.id))
		}
		ids[e.id] = true
		if err := renderModel(&b, e, s, a24, aa); err != nil {
			errs = append(errs, err)
		}
	}
	return b.Bytes(), errors.Join(errs...)
}

func renderModel(b *bytes.Buffer, e entry, s *sources, a24, aa fit) error {
	q, err := rate(e, s, a24, aa)
	if err != nil {
		return err
	}
	caps := map[string]bool{"streaming": true}
	var ctx, maxOut int
	var deprecated string
	var depLines []string
	for i, d := range e.deps {
		m, ok := s.litellm[d.key]
		if !ok {
			return fmt.Errorf("%s: LiteLLM has no %q", e.id, d.key)
		}
		if mode, _ := m["mode"].(string); mode != "chat" {
			return fmt.Errorf("%s: %q is not a chat model", e.id, d.key)
		}
		if flag_(m, "supports_function_calling") {
			caps["tools"] = true
		}
		if flag_(m, "supports_vision") {
			caps["vision"] = true
		}
		if flag_(m, "supports_response_schema") {
			caps["json_schema"] = true
		}
		if flag_(m, "supports_reasoning") {
			caps["reasoning"] = true
		}
		in, _ := num(m, "max_input_tokens")
		o, _ := num(m, "max_output_tokens")
		if i == 0 || ctx == 0 {
			ctx = int(in)
		}
		if i == 0 || maxOut == 0 {
			maxOut = int(o)
		}
		if i == 0 {
			deprecated, _ = m["deprecation_date"].(string)
		}
		name := strings.TrimPrefix(d.key, providerPrefix[d.provider])
		line, err := deploymentLine(d.provider, name, m)
		if err != nil {
			return fmt.Errorf("%s: %s: %w", e.id, d.key, err)
		}
		depLines = append(depLines, line)
	}
	if e.context > 0 {
		ctx = e.context
	}
	if ctx == 0 && e.openrouter != "" {
		ctx = s.openrouter[e.openrouter].Context
	}
	if ctx == 0 {
		return fmt.Errorf("%s: no context window in any source", e.id)
	}
	if maxOut == 0 || maxOut > ctx {
		maxOut = min(ctx, max(maxOut, 8192))
	}
	for _, c := range e.addCaps {
		caps[c] = true
	}
	for _, c := range e.dropCaps {
		delete(caps, c)
	}
	var capList []string
	for _, c := range catalog.AllCapabilities() {
		if caps[string(c)] {
			capList = append(capList, string(c))
		}
	}
	if e.note != "" {
		fmt.Fprintf(b, "  # %s\n", e.note)
	}
	fmt.Fprintf(b, "  - id: %s\n", e.id)
	if len(e.aliases) > 0 {
		fmt.Fprintf(b, "    aliases: [%s]\n", strings.Join(e.aliases, ", "))
	}
	fmt.Fprintf(b, "    family: %s\n    vendor: %s\n", e.family, e.vendor)
	fmt.Fprintf(b, "    context_window: %d\n    max_output_tokens: %d\n", ctx, maxOut)
	fmt.Fprintf(b, "    capabilities: [%s]\n", strings.Join(capList, ", "))
	if q.estimated {
		fmt.Fprintf(b, "    quality: {score: %g, source: %q, estimated: true}\n", q.score, q.source)
	} else {
		fmt.Fprintf(b, "    quality: {score: %g, source: %q}\n", q.score, q.source)
	}
	if deprecated != "" {
		fmt.Fprintf(b, "    deprecated: %q\n", deprecated)
	}
	b.WriteString("    deployments:\n")
	for _, l := range depLines {
		fmt.Fprintf(b, "      - %s\n", l)
	}
	return nil
}

func deploymentLine(provider, name string, m map[string]any) (string, error) {
	in, out := price(m, "input_cost_per_token"), price(m, "output_cost_per_token")
	if _, ok := num(m, "input_cost_per_token"); !ok {
		return "", errors.New("no input price")
	}
	if _, ok := num(m, "output_cost_per_token"); !ok {
		return "", errors.New("no output price")
	}
	if in == "" {
		in = "0"
	}
	if out == "" {
		out = "0"
	}
	fields := []string{"provider: " + provider, "name: " + yamlString(name), "input: " + in}
	cached := price(m, "cache_read_input_token_cost")
	if cached == "" {
		cached = price(m, "input_cost_per_token_cache_hit")
	}
	opt := func(key, v string) {
		if v != "" {
			fields = append(fields, key+": "+v)
		}
	}
	opt("cached_input", cached)
	opt("cache_write", price(m, "cache_creation_input_token_cost"))
	fields = append(fields, "output: "+out)
	if r := price(m, "output_cost_per_reasoning_token"); r != out {
		opt("reasoning", r)
	}
	opt("batch_input", price(m, "input_cost_per_token_batches"))
	opt("batch_output", price(m, "output_cost_per_token_batches"))
	for _, tier := range []string{"128k", "200k", "272k"} {
		suffix := "_above_" + tier + "_tokens"
		in := price(m, "input_cost_per_token"+suffix)
		if in == "" {
			continue
		}
		above, _ := strconv.Atoi(strings.TrimSuffix(tier, "k"))
		lc := []string{fmt.Sprintf("above: %d", above*1000), "input: " + in}
		if v := price(m, "cache_read_input_token_cost"+suffix); v != "" {
			lc = append(lc, "cached_input: "+v)
		}
		if v := price(m, "cache_creation_input_token_cost"+suffix); v != "" {
			lc = append(lc, "cache_write: "+v)
		}
		if v := price(m, "output_cost_per_token"+suffix); v != "" {
			lc = append(lc, "output: "+v)
		}
		fields = append(fields, "long_context: {"+strings.Join(lc, ", ")+"}")
	}
	return "{" + strings.Join(fields, ", ") + "}", nil
}

// yamlString quotes a name only when YAML would not read it back as the same string.
func yamlString(s string) string {
	if strings.ContainsAny(s, ":#{}[],&*!|>'\"%@`") || slices.Contains([]string{"true", "false", "null", "yes", "no"}, strings.ToLower(s)) {
		return strconv.Quote(s)
	}
	return s
}
