package catalog

import (
	"errors"
	"fmt"
	"reflect"
	"slices"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/arbiterhq/arbiter/internal/money"
)

// Price is a price in US dollars per million tokens as written in YAML (2.5, "2.50" or
// "$2.50"). It is parsed from the literal text, so "0.075" is exactly 75_000_000
// nanodollars per million tokens with no float rounding.
type Price money.PerMTok

// UnmarshalYAML parses the scalar's text exactly.
func (p *Price) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode {
		return fmt.Errorf("line %d: price must be a number of dollars per million tokens", n.Line)
	}
	v, err := money.ParseDecimal(n.Value)
	if err != nil {
		return fmt.Errorf("line %d: price: %w", n.Line, err)
	}
	*p = Price(v)
	return nil
}

// MarshalYAML writes the price as a plain decimal number of dollars per million tokens.
func (p Price) MarshalYAML() (any, error) {
	return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!float", Value: money.USD(p).Decimal()}, nil
}

func (p *Price) perMTok() money.PerMTok { return money.PerMTok(*p) }

// Override adds a model or changes an existing one (found by ID or alias). Unset fields
// keep their current value; set ones replace it. It is the shape of one entry of the
// embedded models.yaml and of the models list in a user's configuration, e.g.
//
//	models:
//	  - id: gpt-4o                   # negotiated price on an existing model
//	    deployments:
//	      - {provider: openai, input: 2.00, output: 8.00}
//	  - id: acme-llama-70b           # a private deployment
//	    family: llama-3
//	    context_window: 131072
//	    max_output_tokens: 8192
//	    capabilities: [tools, streaming]
//	    quality: {score: 0.62, source: "internal eval"}
//	    deployments:
//	      - {provider: acme, name: llama70b, input: 0.30, output: 0.30}
type Override struct {
	ID              string               `yaml:"id"`
	Aliases         []string             `yaml:"aliases,omitempty"` // added to existing aliases
	Family          string               `yaml:"family,omitempty"`
	Vendor          string               `yaml:"vendor,omitempty"`
	ContextWindow   *int                 `yaml:"context_window,omitempty"`
	MaxOutputTokens *int                 `yaml:"max_output_tokens,omitempty"`
	Capabilities    *[]string            `yaml:"capabilities,omitempty"` // replaces the list when set
	Quality         *QualityOverride     `yaml:"quality,omitempty"`
	Deprecated      *string              `yaml:"deprecated,omitempty"`  // retirement date YYYY-MM-DD ("" clears it)
	Deployments     []DeploymentOverride `yaml:"deployments,omitempty"` // matched by provider
	Remove          bool                 `yaml:"remove,omitempty"`      // drop the model

	// Line is where the override was written (set by DecodeOverrides), for errors.
	Line int `yaml:"-"`
}

// QualityOverride sets a model's quality score in [0,1].
type QualityOverride struct {
	Score     float64 `yaml:"score"`
	Source    string  `yaml:"source"`
	Estimated bool    `yaml:"estimated,omitempty"`
}

// DeploymentOverride adds a deployment or changes the one of the same provider. Prices
// are dollars per million tokens; an unset price keeps its current value.
type DeploymentOverride struct {
	Provider    string `yaml:"provider"`
	Name        string `yaml:"name,omitempty"` // provider's model name; new deployments default to the model ID
	Input       *Price `yaml:"input,omitempty"`
	CachedInput *Price `yaml:"cached_input,omitempty"`
	CacheWrite  *Price `yaml:"cache_write,omitempty"`
	Output      *Price `yaml:"output,omitempty"`
	Reasoning   *Price `yaml:"reasoning,omitempty"`
	BatchInput  *Price `yaml:"batch_input,omitempty"`
	BatchOutput *Price `yaml:"batch_output,omitempty"`
	// LongContext sets the long-context tier: prices for requests whose prompt exceeds
	// `above` tokens.
	LongContext *LongContextOverride `yaml:"long_context,omitempty"`
	Default     bool                 `yaml:"default,omitempty"` // make this the model's default deployment
	Remove      bool                 `yaml:"remove,omitempty"`  // drop this deployment
}

// LongContextOverride sets a long-context price tier; unset prices keep their value.
type LongContextOverride struct {
	Above       *int   `yaml:"above,omitempty"`
	Input       *Price `yaml:"input,omitempty"`
	CachedInput *Price `yaml:"cached_input,omitempty"`
	CacheWrite  *Price `yaml:"cache_write,omitempty"`
	Output      *Price `yaml:"output,omitempty"`
}

// File is the layout of models.yaml.
type File struct {
	AsOf    string     `yaml:"as_of"`
	Sources []string   `yaml:"sources"`
	Models  []Override `yaml:"models"`
}

// Parse builds a catalog from a models.yaml document.
func Parse(data []byte) (*Catalog, error) {
	var n yaml.Node
	if err := yaml.Unmarshal(data, &n); err != nil {
		return nil, fmt.Errorf("parse catalog: %w", err)
	}
	var f File
	if len(n.Content) == 1 {
		if err := checkKeys(n.Content[0], reflect.TypeOf(f)); err != nil {
			return nil, fmt.Errorf("parse catalog: %w", err)
		}
		if err := n.Content[0].Decode(&f); err != nil {
			return nil, fmt.Errorf("parse catalog: %w", err)
		}
		for i := 0; i+1 < len(n.Content[0].Content); i += 2 {
			if n.Content[0].Content[i].Value == "models" {
				for j, item := range n.Content[0].Content[i+1].Content {
					f.Models[j].Line = item.Line
				}
			}
		}
	}
	empty := &Catalog{asOf: f.AsOf, sources: f.Sources, byName: map[string]*Model{}}
	return empty.Merge(f.Models...)
}

// ParseOverrides decodes a YAML list of overrides, rejecting unknown fields.
func ParseOverrides(data []byte) ([]Override, error) {
	var n yaml.Node
	if err := yaml.Unmarshal(data, &n); err != nil {
		return nil, fmt.Errorf("parse model overrides: %w", err)
	}
	return DecodeOverrides(&n)
}

// DecodeOverrides decodes the `models:` node of a configuration file: a list of
// overrides. Unknown fields are rejected and errors name the line, and each override
// remembers its line so that Merge's errors name it too. A nil or empty node is no
// overrides.
func DecodeOverrides(n *yaml.Node) ([]Override, error) {
	if n != nil && n.Kind == yaml.DocumentNode && len(n.Content) == 1 {
		n = n.Content[0]
	}
	if n == nil || n.Kind == 0 || (n.Kind == yaml.ScalarNode && n.Tag == "!!null") {
		return nil, nil
	}
	if n.Kind != yaml.SequenceNode {
		return nil, fmt.Errorf("line %d: models must be a list of model overrides", n.Line)
	}
	if err := checkKeys(n, reflect.TypeOf([]Override{})); err != nil {
		return nil, err
	}
	var out []Override
	if err := n.Decode(&out); err != nil {
		return nil, fmt.Errorf("model overrides: %w", err)
	}
	for i, item := range n.Content {
		out[i].Line = item.Line
	}
	return out, nil
}

// checkKeys rejects mapping keys that name no yaml-tagged field of t, recursively,
// because yaml.Node.Decode has no strict mode.
func checkKeys(n *yaml.Node, t reflect.Type) error {
	for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice {
		t = t.Elem()
		if n.Kind == yaml.SequenceNode {
			for _, c := range n.Content {
				if err := checkKeys(c, t); err != nil {
					return err
				}
			}
			return nil
		}
	}
	if t.Kind() != reflect.Struct || n.Kind != yaml.MappingNode {
		return nil
	}
	fields := map[string]reflect.Type{}
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if name != "" && name != "-" {
			fields[name] = f.Type
		}
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		ft, ok := fields[k.Value]
		if !ok {
			names := make([]string, 0, len(fields))
			for name := range fields {
				names = append(names, name)
			}
			sort.Strings(names)
			return fmt.Errorf("line %d: unknown field %q (want one of %s)", k.Line, k.Value, strings.Join(names, ", "))
		}
		if err := checkKeys(v, ft); err != nil {
			return err
		}
	}
	return nil
}

// Merge returns a new catalog with the overrides applied in order; c is unchanged. The
// result is validated as a whole: every error found is reported, each naming the model.
func (c *Catalog) Merge(overrides ...Override) (*Catalog, error) {
	models := make([]*Model, 0, len(c.models)+len(overrides))
	for _, m := range c.models {
		models = append(models, cloneModel(m))
	}
	var errs []error
	lines := map[*Model]int{} // where each model was last overridden, for errors
	for i, o := range overrides {
		id := strings.TrimSpace(o.ID)
		if id == "" {
			errs = append(errs, fmt.Errorf("%smodel override #%d: missing id", at(o.Line), i+1))
			continue
		}
		idx := slices.IndexFunc(models, func(m *Model) bool { return m.matches(id) })
		if o.Remove {
			if idx < 0 {
				errs = append(errs, fmt.Errorf("%smodel %q: cannot remove: not in the catalog", at(o.Line), id))
				continue
			}
			models = slices.Delete(models, idx, idx+1)
			continue
		}
		var m *Model
		isNew := idx < 0
		if isNew {
			m = &Model{ID: id}
			models = append(models, m)
		} else {
			m = models[idx]
		}
		if o.Line > 0 {
			lines[m] = o.Line
		}
		if err := apply(m, o, isNew); err != nil {
			errs = append(errs, fmt.Errorf("%smodel %q: %w", at(o.Line), id, err))
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	sort.Slice(models, func(i, j int) bool { return models[i].ID < models[j].ID })
	out := &Catalog{asOf: c.asOf, sources: slices.Clone(c.sources), models: models, byName: make(map[string]*Model, 2*len(models))}
	if err := out.index(lines); err != nil {
		return nil, err
	}
	return out, nil
}

func at(line int) string {
	if line > 0 {
		return fmt.Sprintf("line %d: ", line)
	}
	return ""
}

func (m *Model) matches(name string) bool {
	if strings.EqualFold(m.ID, name) {
		return true
	}
	for _, a := range m.Aliases {
		if strings.EqualFold(a, name) {
			return true
		}
	}
	return false
}

func cloneModel(m *Model) *Model {
	c := *m
	c.Aliases = slices.Clone(m.Aliases)
	c.Capabilities = slices.Clone(m.Capabilities)
	c.Deployments = slices.Clone(m.Deployments)
	return &c
}

// apply changes m by o; isNew models must be complete.
func apply(m *Model, o Override, isNew bool) error {
	var errs []error
	for _, a := range o.Aliases {
		a = strings.TrimSpace(a)
		if a != "" && !m.matches(a) {
			m.Aliases = append(m.Aliases, a)
		}
	}
	if o.Family != "" {
		m.Family = o.Family
	}
	if o.Vendor != "" {
		m.Vendor = o.Vendor
	}
	if o.ContextWindow != nil {
		m.ContextWindow = *o.ContextWindow
	}
	if o.MaxOutputTokens != nil {
		m.MaxOutputTokens = *o.MaxOutputTokens
	}
	if o.Capabilities != nil {
		caps := make([]Capability, 0, len(*o.Capabilities))
		for _, s := range *o.Capabilities {
			c, err := ParseCapability(s)
			if err != nil {
				errs = append(errs, err)
				continue
			}
			if !slices.Contains(caps, c) {
				caps = append(caps, c)
			}
		}
		// Display order, so equal sets print and compare the same.
		sort.Slice(caps, func(i, j int) bool {
			return slices.Index(capabilities, caps[i]) < slices.Index(capabilities, caps[j])
		})
		m.Capabilities = caps
	}
	if o.Deprecated != nil {
		m.Deprecated = *o.Deprecated
	}
	if o.Quality != nil {
		m.Quality = Quality{Score: o.Quality.Score, Source: o.Quality.Source, Estimated: o.Quality.Estimated}
	} else if isNew {
		errs = append(errs, errors.New("new model needs a quality score (quality: {score, source})"))
	}
	for _, d := range o.Deployments {
		if err := applyDeployment(m, d); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func applyDeployment(m *Model, o DeploymentOverride) error {
	prov := strings.TrimSpace(o.Provider)
	if prov == "" {
		return errors.New("deployment without provider")
	}
	i := slices.IndexFunc(m.Deployments, func(d Deployment) bool { return d.Provider == prov })
	if o.Remove {
		if i < 0 {
			return fmt.Errorf("deployment %q: cannot remove: model has no such deployment", prov)
		}
		m.Deployments = slices.Delete(m.Deployments, i, i+1)
		return nil
	}
	if i < 0 {
		if o.Input == nil || o.Output == nil {
			return fmt.Errorf("deployment %q: a new deployment needs input and output prices", prov)
		}
		m.Deployments = append(m.Deployments, Deployment{Provider: prov, Name: m.ID})
		i = len(m.Deployments) - 1
	}
	d := &m.Deployments[i]
	d.ModelID = m.ID
	if o.Name != "" {
		d.Name = o.Name
	}
	set := func(dst *money.PerMTok, p *Price) {
		if p != nil {
			*dst = p.perMTok()
		}
	}
	set(&d.Prices.Input, o.Input)
	set(&d.Prices.CachedInput, o.CachedInput)
	set(&d.Prices.CacheWrite, o.CacheWrite)
	set(&d.Prices.Output, o.Output)
	set(&d.Prices.Reasoning, o.Reasoning)
	set(&d.Prices.BatchInput, o.BatchInput)
	set(&d.Prices.BatchOutput, o.BatchOutput)
	if lc := o.LongContext; lc != nil {
		if lc.Above != nil {
			d.Prices.LongContext.Above = *lc.Above
		}
		set(&d.Prices.LongContext.Input, lc.Input)
		set(&d.Prices.LongContext.CachedInput, lc.CachedInput)
		set(&d.Prices.LongContext.CacheWrite, lc.CacheWrite)
		set(&d.Prices.LongContext.Output, lc.Output)
	}
	if o.Default && i > 0 {
		dep := m.Deployments[i]
		m.Deployments = slices.Delete(m.Deployments, i, i+1)
		m.Deployments = slices.Insert(m.Deployments, 0, dep)
	}
	return nil
}

// index validates every model and builds the name index; all problems are reported.
func (c *Catalog) index(lines map[*Model]int) error {
	var errs []error
	for _, m := range c.models {
		if err := m.validate(); err != nil {
			errs = append(errs, fmt.Errorf("%smodel %q: %w", at(lines[m]), m.ID, err))
		}
		for _, name := range append([]string{m.ID}, m.Aliases...) {
			key := strings.ToLower(name)
			if other, dup := c.byName[key]; dup && other != m {
				errs = append(errs, fmt.Errorf("%smodel %q: name %q is already used by model %q", at(lines[m]), m.ID, name, other.ID))
				continue
			}
			c.byName[key] = m
		}
	}
	return errors.Join(errs...)
}

func (m *Model) validate() error {
	var errs []error
	if strings.ContainsAny(m.ID, " \t\n") {
		errs = append(errs, errors.New("id contains whitespace"))
	}
	if m.ContextWindow <= 0 {
		errs = append(errs, fmt.Errorf("context_window must be positive, got %d", m.ContextWindow))
	}
	if m.MaxOutputTokens <= 0 {
		errs = append(errs, fmt.Errorf("max_output_tokens must be positive, got %d", m.MaxOutputTokens))
	}
	if !(m.Quality.Score >= 0 && m.Quality.Score <= 1) {
		errs = append(errs, fmt.Errorf("quality score %v is outside [0,1]", m.Quality.Score))
	}
	if strings.TrimSpace(m.Quality.Source) == "" {
		errs = append(errs, errors.New("quality score has no source"))
	}
	if len(m.Deployments) == 0 {
		errs = append(errs, errors.New("no deployments"))
	}
	seen := map[string]bool{}
	for _, d := range m.Deployments {
		if seen[d.Provider] {
			errs = append(errs, fmt.Errorf("deployment %q listed twice", d.Provider))
		}
		seen[d.Provider] = true
		if strings.TrimSpace(d.Name) == "" {
			errs = append(errs, fmt.Errorf("deployment %q: empty model name", d.Provider))
		}
		p := d.Prices
		if p.LongContext.Above < 0 {
			errs = append(errs, fmt.Errorf("deployment %q: long_context.above must not be negative", d.Provider))
		}
		for _, f := range []struct {
			name string
			v    money.PerMTok
		}{
			{"input", p.Input}, {"cached_input", p.CachedInput}, {"cache_write", p.CacheWrite},
			{"output", p.Output}, {"reasoning", p.Reasoning},
			{"batch_input", p.BatchInput}, {"batch_output", p.BatchOutput},
			{"long_context input", p.LongContext.Input}, {"long_context cached_input", p.LongContext.CachedInput},
			{"long_context cache_write", p.LongContext.CacheWrite}, {"long_context output", p.LongContext.Output},
		} {
			if f.v < 0 {
				errs = append(errs, fmt.Errorf("deployment %q: negative %s price %s per million tokens", d.Provider, f.name, money.USD(f.v)))
			}
		}
	}
	return errors.Join(errs...)
}
