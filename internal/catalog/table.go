package catalog

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/arbiterhq/arbiter/internal/money"
)

// Query selects models and deployments for display: a model matches when it has every
// capability; with a provider, only that provider's deployments are shown.
type Query struct {
	Provider     string
	Capabilities []Capability
}

// Select returns the models matching q, sorted by ID, or an error naming the valid
// providers when q.Provider is unknown.
func (c *Catalog) Select(q Query) ([]*Model, error) {
	if q.Provider != "" && !slices.Contains(c.Providers(), q.Provider) {
		return nil, fmt.Errorf("unknown provider %q (want one of %s)", q.Provider, strings.Join(c.Providers(), ", "))
	}
	var out []*Model
	for _, m := range c.WithCapabilities(q.Capabilities...) {
		if q.Provider != "" {
			if _, ok := m.Deployment(q.Provider); !ok {
				continue
			}
		}
		out = append(out, m)
	}
	return out, nil
}

func (q Query) deployments(m *Model) []Deployment {
	if q.Provider == "" {
		return m.Deployments
	}
	d, _ := m.Deployment(q.Provider)
	return []Deployment{*d}
}

// WriteTable prints the selected models as an aligned table, one row per deployment;
// "*" marks a model's default deployment. Prices are dollars per million tokens.
func (c *Catalog) WriteTable(w io.Writer, q Query) error {
	models, err := c.Select(q)
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	tw := tabwriter.NewWriter(&buf, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "MODEL\tPROVIDER\tINPUT\tCACHED\tCACHE WRITE\tOUTPUT\tREASONING\tCONTEXT\tMAX OUT\tQUALITY\tCAPABILITIES")
	rows := 0
	for _, m := range models {
		caps := make([]string, len(m.Capabilities))
		for i, k := range m.Capabilities {
			caps[i] = string(k)
		}
		qual := fmt.Sprintf("%.3f", m.Quality.Score)
		if m.Quality.Estimated {
			qual += "~"
		}
		for i, d := range q.deployments(m) {
			prov := d.Provider
			if d.Provider == m.Default().Provider {
				prov += "*"
			}
			p := d.Prices
			prices := strings.Join([]string{dollars(p.Input), dollars(p.CachedInput), dollars(p.CacheWrite), dollars(p.Output), dollars(p.Reasoning)}, "\t")
			if i == 0 {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", m.ID, prov, prices,
					tokens(m.ContextWindow), tokens(m.MaxOutputTokens), qual, strings.Join(caps, ","))
			} else {
				// Further deployments of the same model: only what differs. Empty trailing
				// cells keep the column blocks of tabwriter unbroken.
				fmt.Fprintf(tw, "\t%s\t%s\t\t\t\t\n", prov, prices)
			}
			rows++
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	// Padding of the empty cells would leave trailing spaces.
	for _, line := range strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n") {
		if _, err := io.WriteString(w, strings.TrimRight(line, " ")+"\n"); err != nil {
			return err
		}
	}
	_, err = fmt.Fprintf(w, "\n%d models, %d deployments. Prices in $ per million tokens as of %s; * default deployment, ~ estimated quality, - no separate price (cached and cache writes bill as input, reasoning as output).\n",
		len(models), rows, c.asOf)
	return err
}

func dollars(p money.PerMTok) string {
	if p == 0 {
		return "-"
	}
	return money.USD(p).String()
}

func tokens(n int) string {
	switch {
	case n >= 1_000_000:
		return fmt.Sprintf("%.2gM", float64(n)/1e6)
	case n >= 1_000:
		return fmt.Sprintf("%dK", (n+500)/1000)
	default:
		return fmt.Sprint(n)
	}
}

type modelJSON struct {
	ID              string           `json:"id"`
	Aliases         []string         `json:"aliases,omitempty"`
	Family          string           `json:"family"`
	Vendor          string           `json:"vendor"`
	ContextWindow   int              `json:"context_window"`
	MaxOutputTokens int              `json:"max_output_tokens"`
	Capabilities    []Capability     `json:"capabilities"`
	Quality         qualityJSON      `json:"quality"`
	Deprecated      string           `json:"deprecated,omitempty"`
	Deployments     []deploymentJSON `json:"deployments"`
}

type qualityJSON struct {
	Score     float64 `json:"score"`
	Source    string  `json:"source"`
	Estimated bool    `json:"estimated,omitempty"`
}

// Prices in JSON are exact decimal numbers of dollars per million tokens.
type deploymentJSON struct {
	Provider    string      `json:"provider"`
	Name        string      `json:"name"`
	Default     bool        `json:"default,omitempty"`
	Input       json.Number `json:"input"`
	CachedInput json.Number `json:"cached_input,omitempty"`
	CacheWrite  json.Number `json:"cache_write,omitempty"`
	Output      json.Number `json:"output"`
	Reasoning   json.Number `json:"reasoning,omitempty"`
	BatchInput  json.Number `json:"batch_input,omitempty"`
	BatchOutput json.Number `json:"batch_output,omitempty"`
}

func number(p money.PerMTok, always bool) json.Number {
	if p == 0 && !always {
		return ""
	}
	return json.Number(money.USD(p).Decimal())
}

// WriteJSON prints the selected models as one JSON document.
func (c *Catalog) WriteJSON(w io.Writer, q Query) error {
	models, err := c.Select(q)
	if err != nil {
		return err
	}
	doc := struct {
		AsOf    string      `json:"as_of"`
		Sources []string    `json:"sources"`
		Models  []modelJSON `json:"models"`
	}{AsOf: c.asOf, Sources: c.sources, Models: []modelJSON{}}
	for _, m := range models {
		mj := modelJSON{ID: m.ID, Aliases: m.Aliases, Family: m.Family, Vendor: m.Vendor, ContextWindow: m.ContextWindow,
			MaxOutputTokens: m.MaxOutputTokens, Capabilities: m.Capabilities, Deprecated: m.Deprecated,
			Quality: qualityJSON{Score: m.Quality.Score, Source: m.Quality.Source, Estimated: m.Quality.Estimated}}
		for _, d := range q.deployments(m) {
			p := d.Prices
			mj.Deployments = append(mj.Deployments, deploymentJSON{
				Provider: d.Provider, Name: d.Name, Default: d.Provider == m.Default().Provider,
				Input: number(p.Input, true), CachedInput: number(p.CachedInput, false), CacheWrite: number(p.CacheWrite, false),
				Output: number(p.Output, true), Reasoning: number(p.Reasoning, false),
				BatchInput: number(p.BatchInput, false), BatchOutput: number(p.BatchOutput, false),
			})
		}
		doc.Models = append(doc.Models, mj)
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(doc)
}
