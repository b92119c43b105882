package main

// The inclusion list: every model in the catalog, chosen by hand. For each model the
// deployments name the LiteLLM entry its prices, limits and capabilities come from,
// and the rating keys name its row in the Arena table and the Artificial Analysis list.
//
// The first deployment is the model's default: the one a counterfactual ("what would
// the baseline model have cost") is priced at. It is the vendor's own API where the
// vendor sells the model; for open-weight models without a vendor API it is Together AI,
// a widely used reference host, where Together serves the model, else the first host listed.

type dep struct {
	provider string // Arbiter's provider key
	key      string // LiteLLM entry
}

type entry struct {
	id         string
	aliases    []string
	family     string
	vendor     string
	arena      string // model column of the LMArena text table (2025-08-06, else 2024-12-31)
	aa         string // Artificial Analysis slug
	openrouter string // OpenRouter id, for a context window LiteLLM lacks
	deps       []dep
	// Facts the sources lack, each with its reason in note.
	context   int
	maxOut    int
	addCaps   []string
	dropCaps  []string
	estimate  float64 // quality when no rating exists
	estimated string  // why that estimate
	note      string
}

func openai(key string) []dep { return []dep{{"openai", key}} }

func anthropic(key string, more ...dep) []dep {
	return append([]dep{{"anthropic", key}}, more...)
}

var entries = []entry{
	// OpenAI.
	{id: "gpt-4o", aliases: []string{"gpt-4o-2024-08-06"}, family: "gpt-4o", vendor: "openai", arena: "GPT-4o-2024-08-06", aa: "gpt-4o-2024-08-06", deps: openai("gpt-4o")},
	{id: "gpt-4o-mini", aliases: []string{"gpt-4o-mini-2024-07-18"}, family: "gpt-4o", vendor: "openai", arena: "GPT-4o-mini-2024-07-18", aa: "gpt-4o-mini", deps: openai("gpt-4o-mini")},
	{id: "gpt-4.1", aliases: []string{"gpt-4.1-2025-04-14"}, family: "gpt-4.1", vendor: "openai", arena: "GPT-4.1-2025-04-14", aa: "gpt-4-1", deps: openai("gpt-4.1")},
	{id: "gpt-4.1-mini", aliases: []string{"gpt-4.1-mini-2025-04-14"}, family: "gpt-4.1", vendor: "openai", arena: "GPT-4.1-mini-2025-04-14", aa: "gpt-4-1-mini", deps: openai("gpt-4.1-mini")},
	{id: "gpt-4.1-nano", aliases: []string{"gpt-4.1-nano-2025-04-14"}, family: "gpt-4.1", vendor: "openai", arena: "GPT-4.1-nano-2025-04-14", aa: "gpt-4-1-nano", deps: openai("gpt-4.1-nano")},
	{id: "gpt-4-turbo", aliases: []string{"gpt-4-turbo-2024-04-09"}, family: "gpt-4", vendor: "openai", arena: "GPT-4-Turbo-2024-04-09", aa: "gpt-4-turbo", deps: openai("gpt-4-turbo")},
	{id: "gpt-4-1106-preview", family: "gpt-4", vendor: "openai", arena: "GPT-4-1106-preview", deps: openai("gpt-4-1106-preview"),
		note: "the strong model of RouteLLM's evaluation data; kept for its rating"},
	{id: "o1", aliases: []string{"o1-2024-12-17"}, family: "o-series", vendor: "openai", arena: "o1-2024-12-17", aa: "o1", deps: openai("o1")},
	{id: "o3", aliases: []string{"o3-2025-04-16"}, family: "o-series", vendor: "openai", arena: "o3-2025-04-16", aa: "o3", deps: openai("o3")},
	{id: "o3-mini", aliases: []string{"o3-mini-2025-01-31"}, family: "o-series", vendor: "openai", arena: "o3-mini", aa: "o3-mini", deps: openai("o3-mini")},
	{id: "o4-mini", aliases: []string{"o4-mini-2025-04-16"}, family: "o-series", vendor: "openai", arena: "o4-mini-2025-04-16", aa: "o4-mini", deps: openai("o4-mini")},
	{id: "gpt-5", aliases: []string{"gpt-5-2025-08-07"}, family: "gpt-5", vendor: "openai", aa: "gpt-5", deps: openai("gpt-5")},
	{id: "gpt-5-mini", aliases: []string{"gpt-5-mini-2025-08-07"}, family: "gpt-5", vendor: "openai", aa: "gpt-5-mini", deps: openai("gpt-5-mini")},
	{id: "gpt-5-nano", aliases: []string{"gpt-5-nano-2025-08-07"}, family: "gpt-5", vendor: "openai", aa: "gpt-5-nano", deps: openai("gpt-5-nano")},
	{id: "gpt-5.1", aliases: []string{"gpt-5.1-2025-11-13"}, family: "gpt-5", vendor: "openai", aa: "gpt-5-1", deps: openai("gpt-5.1")},
	{id: "gpt-5.2", aliases: []string{"gpt-5.2-2025-12-11"}, family: "gpt-5", vendor: "openai", aa: "gpt-5-2", deps: openai("gpt-5.2")},
	{id: "gpt-5.4", aliases: []string{"gpt-5.4-2026-03-05"}, family: "gpt-5", vendor: "openai", aa: "gpt-5-4", deps: openai("gpt-5.4")},
	{id: "gpt-5.4-mini", aliases: []string{"gpt-5.4-mini-2026-03-17"}, family: "gpt-5", vendor: "openai", aa: "gpt-5-4-mini", deps: openai("gpt-5.4-mini")},
	{id: "gpt-5.4-nano", aliases: []string{"gpt-5.4-nano-2026-03-17"}, family: "gpt-5", vendor: "openai", aa: "gpt-5-4-nano", deps: openai("gpt-5.4-nano")},
	{id: "gpt-5.5", aliases: []string{"gpt-5.5-2026-04-23"}, family: "gpt-5", vendor: "openai", aa: "gpt-5-5", deps: openai("gpt-5.5")},

	// Anthropic.
	{id: "claude-3-5-haiku", aliases: []string{"claude-3-5-haiku-latest", "claude-3-5-haiku-20241022"}, family: "claude-haiku", vendor: "anthropic",
		arena: "Claude 3.5 Haiku (20241022)", aa: "claude-3-5-haiku", deps: anthropic("manual:claude-3-5-haiku-20241022"),
		note: "no longer in LiteLLM's Anthropic list; prices from Anthropic's published price list"},
	{id: "claude-3-7-sonnet", aliases: []string{"claude-3-7-sonnet-latest", "claude-3-7-sonnet-20250219"}, family: "claude-sonnet", vendor: "anthropic",
		arena: "Claude 3.7 Sonnet", aa: "claude-3-7-sonnet", deps: anthropic("claude-3-7-sonnet-20250219", dep{"deepinfra", "deepinfra/anthropic/claude-3-7-sonnet-latest"})},
	{id: "claude-sonnet-4", aliases: []string{"claude-sonnet-4-20250514", "claude-sonnet-4-0", "claude-4-sonnet-20250514"}, family: "claude-sonnet", vendor: "anthropic",
		arena: "Claude Sonnet 4 (20250514)", aa: "claude-4-sonnet", deps: anthropic("claude-sonnet-4-20250514", dep{"deepinfra", "deepinfra/anthropic/claude-4-sonnet"})},
	{id: "claude-opus-4", aliases: []string{"claude-opus-4-20250514", "claude-opus-4-0", "claude-4-opus-20250514"}, family: "claude-opus", vendor: "anthropic",
		arena: "Claude Opus 4 (20250514)", aa: "claude-4-opus", deps: anthropic("claude-opus-4-20250514", dep{"deepinfra", "deepinfra/anthropic/claude-4-opus"})},
	{id: "claude-opus-4-1", aliases: []string{"claude-opus-4-1-20250805"}, family: "claude-opus", vendor: "anthropic", aa: "claude-4-1-opus", deps: anthropic("claude-opus-4-1")},
	{id: "claude-sonnet-4-5", aliases: []string{"claude-sonnet-4-5-20250929"}, family: "claude-sonnet", vendor: "anthropic", aa: "claude-4-5-sonnet", deps: anthropic("claude-sonnet-4-5")},
	{id: "claude-haiku-4-5", aliases: []string{"claude-haiku-4-5-20251001"}, family: "claude-haiku", vendor: "anthropic", aa: "claude-4-5-haiku", deps: anthropic("claude-haiku-4-5")},
	{id: "claude-opus-4-5", aliases: []string{"claude-opus-4-5-20251101"}, family: "claude-opus", vendor: "anthropic", aa: "claude-opus-4-5", deps: anthropic("claude-opus-4-5")},
	{id: "claude-sonnet-4-6", family: "claude-sonnet", vendor: "anthropic", aa: "claude-sonnet-4-6", deps: anthropic("claude-sonnet-4-6")},
	{id: "claude-opus-4-6", aliases: []string{"claude-opus-4-6-20260205"}, family: "claude-opus", vendor: "anthropic", aa: "claude-opus-4-6", deps: anthropic("claude-opus-4-6")},
	{id: "claude-opus-4-7", aliases: []string{"claude-opus-4-7-20260416"}, family: "claude-opus", vendor: "anthropic", aa: "claude-opus-4-7", deps: anthropic("claude-opus-4-7")},
	{id: "claude-opus-4-8", family: "claude-opus", vendor: "anthropic", aa: "claude-opus-4-8", deps: anthropic("claude-opus-4-8")},
	{id: "claude-sonnet-5", family: "claude-sonnet", vendor: "anthropic", aa: "claude-sonnet-5", deps: anthropic("claude-sonnet-5")},
	{id: "claude-opus-5", family: "claude-opus", vendor: "anthropic", deps: anthropic("claude-opus-5"),
		estimate: 0.9, estimated: "no rating yet; set to Claude Opus 4.8's score, its predecessor at the same price"},
	{id: "claude-fable-5", family: "claude-fable", vendor: "anthropic", aa: "claude-fable-5", deps: anthropic("claude-fable-5")},

	// Google.
	{id: "gemini-2.0-flash", aliases: []string{"gemini-2.0-flash-001"}, family: "gemini-2.0", vendor: "google", arena: "Gemini-2.0-Flash-001", aa: "gemini-2-0-flash",
		deps: []dep{{"gemini", "gemini/gemini-2.0-flash"}, {"deepinfra", "deepinfra/google/gemini-2.0-flash-001"}}},
	{id: "gemini-2.0-flash-lite", aliases: []string{"gemini-2.0-flash-lite-001"}, family: "gemini-2.0", vendor: "google", arena: "Gemini-2.0-Flash-Lite", aa: "gemini-2-0-flash-lite-001",
		deps: []dep{{"gemini", "gemini/gemini-2.0-flash-lite"}}},
	{id: "gemini-2.5-flash", family: "gemini-2.5", vendor: "google", arena: "Gemini-2.5-Flash", aa: "gemini-2-5-flash-reasoning",
		deps: []dep{{"gemini", "gemini/gemini-2.5-flash"}, {"deepinfra", "deepinfra/google/gemini-2.5-flash"}}},
	{id: "gemini-2.5-flash-lite", family: "gemini-2.5", vendor: "google", aa: "gemini-2-5-flash-lite", deps: []dep{{"gemini", "gemini/gemini-2.5-flash-lite"}}},
	{id: "gemini-2.5-pro", family: "gemini-2.5", vendor: "google", arena: "Gemini-2.5-Pro", aa: "gemini-2-5-pro",
		deps: []dep{{"gemini", "gemini/gemini-2.5-pro"}, {"deepinfra", "deepinfra/google/gemini-2.5-pro"}}},
	{id: "gemini-3-flash-preview", aliases: []string{"gemini-3-flash"}, family: "gemini-3", vendor: "google", aa: "gemini-3-flash-reasoning", deps: []dep{{"gemini", "gemini/gemini-3-flash-preview"}}},
	{id: "gemini-3.1-pro-preview", aliases: []string{"gemini-3.1-pro"}, family: "gemini-3", vendor: "google", aa: "gemini-3-1-pro-preview", deps: []dep{{"gemini", "gemini/gemini-3.1-pro-preview"}}},
	{id: "gemini-3.1-flash-lite", family: "gemini-3", vendor: "google", aa: "gemini-3-1-flash-lite-preview", deps: []dep{{"gemini", "gemini/gemini-3.1-flash-lite"}}},
	{id: "gemini-3.5-flash", family: "gemini-3", vendor: "google", aa: "gemini-3-5-flash", deps: []dep{{"gemini", "gemini/gemini-3.5-flash"}}},
	{id: "gemini-3.5-flash-lite", family: "gemini-3", vendor: "google", deps: []dep{{"gemini", "gemini/gemini-3.5-flash-lite"}},
		estimate: 0.7, estimated: "no rating yet; between Gemini 3.1 Flash-Lite and Gemini 3.5 Flash, as its price is"},
	{id: "gemma-3-27b", aliases: []string{"gemma-3-27b-it"}, family: "gemma-3", vendor: "google", arena: "Gemma-3-27B-it", aa: "gemma-3-27b", openrouter: "google/gemma-3-27b-it",
		deps: []dep{{"deepinfra", "deepinfra/google/gemma-3-27b-it"}, {"fireworks", "fireworks_ai/accounts/fireworks/models/gemma-3-27b-it"}}},

	// Meta Llama (open weights).
	{id: "llama-3.1-8b", aliases: []string{"llama-3.1-8b-instruct", "meta-llama/llama-3.1-8b-instruct"}, family: "llama-3", vendor: "meta",
		arena: "Meta-Llama-3.1-8B-Instruct", aa: "llama-3-1-instruct-8b", openrouter: "meta-llama/llama-3.1-8b-instruct", deps: []dep{
			{"together", "together_ai/meta-llama/Meta-Llama-3.1-8B-Instruct-Turbo"}, {"groq", "groq/llama-3.1-8b-instant"},
			{"fireworks", "fireworks_ai/accounts/fireworks/models/llama-v3p1-8b-instruct"}, {"deepinfra", "deepinfra/meta-llama/Meta-Llama-3.1-8B-Instruct"}}},
	{id: "llama-3.1-70b", aliases: []string{"llama-3.1-70b-instruct", "meta-llama/llama-3.1-70b-instruct"}, family: "llama-3", vendor: "meta",
		arena: "Meta-Llama-3.1-70B-Instruct", aa: "llama-3-1-instruct-70b", openrouter: "meta-llama/llama-3.1-70b-instruct", deps: []dep{
			{"together", "together_ai/meta-llama/Meta-Llama-3.1-70B-Instruct-Turbo"},
			{"fireworks", "fireworks_ai/accounts/fireworks/models/llama-v3p1-70b-instruct"}, {"deepinfra", "deepinfra/meta-llama/Meta-Llama-3.1-70B-Instruct"}}},
	{id: "llama-3.1-405b", aliases: []string{"llama-3.1-405b-instruct", "meta-llama/llama-3.1-405b-instruct"}, family: "llama-3", vendor: "meta",
		arena: "Meta-Llama-3.1-405B-Instruct-bf16", aa: "llama-3-1-instruct-405b", context: 131072, deps: []dep{
			{"together", "together_ai/meta-llama/Meta-Llama-3.1-405B-Instruct-Turbo"}, {"fireworks", "fireworks_ai/accounts/fireworks/models/llama-v3p1-405b-instruct"}},
		note: "context window: Meta's published 128k"},
	{id: "llama-3.3-70b", aliases: []string{"llama-3.3-70b-instruct", "meta-llama/llama-3.3-70b-instruct"}, family: "llama-3", vendor: "meta",
		arena: "Llama-3.3-70B-Instruct", aa: "llama-3-3-instruct-70b", openrouter: "meta-llama/llama-3.3-70b-instruct", deps: []dep{
			{"together", "together_ai/meta-llama/Llama-3.3-70B-Instruct-Turbo"}, {"groq", "groq/llama-3.3-70b-versatile"},
			{"fireworks", "fireworks_ai/accounts/fireworks/models/llama-v3p3-70b-instruct"}, {"deepinfra", "deepinfra/meta-llama/Llama-3.3-70B-Instruct-Turbo"}}},
	{id: "llama-4-scout", aliases: []string{"llama-4-scout-17b-16e-instruct", "meta-llama/llama-4-scout"}, family: "llama-4", vendor: "meta",
		arena: "Llama-4-Scout-17B-16E-Instruct", aa: "llama-4-scout", openrouter: "meta-llama/llama-4-scout", addCaps: []string{"vision"}, deps: []dep{
			{"together", "together_ai/meta-llama/Llama-4-Scout-17B-16E-Instruct"}, {"groq", "groq/meta-llama/llama-4-scout-17b-16e-instruct"},
			{"fireworks", "fireworks_ai/accounts/fireworks/models/llama4-scout-instruct-basic"}, {"deepinfra", "deepinfra/meta-llama/Llama-4-Scout-17B-16E-Instruct"}},
		note: "vision: Llama 4 takes images (Meta's model card)"},
	{id: "llama-4-maverick", aliases: []string{"llama-4-maverick-17b-128e-instruct", "meta-llama/llama-4-maverick"}, family: "llama-4", vendor: "meta",
		arena: "Llama-4-Maverick-17B-128E-Instruct", aa: "llama-4-maverick", openrouter: "meta-llama/llama-4-maverick", addCaps: []string{"vision"}, deps: []dep{
			{"together", "together_ai/meta-llama/Llama-4-Maverick-17B-128E-Instruct-FP8"}, {"groq", "groq/meta-llama/llama-4-maverick-17b-128e-instruct"},
			{"fireworks", "fireworks_ai/accounts/fireworks/models/llama4-maverick-instruct-basic"}, {"deepinfra", "deepinfra/meta-llama/Llama-4-Maverick-17B-128E-Instruct-FP8"}},
		note: "vision: Llama 4 takes images (Meta's model card)"},

	// Mistral.
	{id: "mixtral-8x7b", aliases: []string{"mixtral-8x7b-instruct", "mixtral-8x7b-instruct-v0.1", "open-mixtral-8x7b"}, family: "mixtral", vendor: "mistral",
		arena: "Mixtral-8x7B-Instruct-v0.1", aa: "mixtral-8x7b-instruct", context: 32768, deps: []dep{
			{"mistral", "mistral/open-mixtral-8x7b"}, {"together", "together_ai/mistralai/Mixtral-8x7B-Instruct-v0.1"},
			{"fireworks", "fireworks_ai/accounts/fireworks/models/mixtral-8x7b-instruct"}, {"deepinfra", "deepinfra/mistralai/Mixtral-8x7B-Instruct-v0.1"}},
		note: "the weak model of RouteLLM's evaluation data; context window: Mistral's published 32k"},
	{id: "mixtral-8x22b", aliases: []string{"mixtral-8x22b-instruct", "open-mixtral-8x22b"}, family: "mixtral", vendor: "mistral",
		arena: "Mixtral-8x22b-Instruct-v0.1", aa: "mistral-8x22b-instruct", context: 65536,
		note: "context window: Mistral's published 64k (LiteLLM lists 65336)", deps: []dep{
			{"mistral", "mistral/open-mixtral-8x22b"}, {"fireworks", "fireworks_ai/accounts/fireworks/models/mixtral-8x22b-instruct"}}},
	{id: "mistral-small-3.2", aliases: []string{"mistral-small-2506", "mistral-small-3-2-2506"}, family: "mistral-small", vendor: "mistral",
		arena: "Mistral-Small-2506", aa: "mistral-small-3-2", deps: []dep{
			{"mistral", "mistral/mistral-small-3-2-2506"}, {"deepinfra", "deepinfra/mistralai/Mistral-Small-3.2-24B-Instruct-2506"}}},
	{id: "mistral-medium-3.1", aliases: []string{"mistral-medium-2508"}, family: "mistral-medium", vendor: "mistral", aa: "mistral-medium-3-1",
		deps: []dep{{"mistral", "mistral/mistral-medium-2508"}}},
	{id: "mistral-large-3", aliases: []string{"mistral-large-2512"}, family: "mistral-large", vendor: "mistral", aa: "mistral-large-3", deps: []dep{
		{"mistral", "mistral/mistral-large-2512"}, {"fireworks", "fireworks_ai/accounts/fireworks/models/mistral-large-3-fp8"}}},
	{id: "magistral-medium", aliases: []string{"magistral-medium-2509"}, family: "magistral", vendor: "mistral", aa: "magistral-medium-2509",
		deps: []dep{{"mistral", "mistral/magistral-medium-2509"}}},

	// Qwen (open weights).
	{id: "qwen-2.5-72b", aliases: []string{"qwen2.5-72b-instruct", "qwen/qwen-2.5-72b-instruct"}, family: "qwen-2.5", vendor: "qwen",
		arena: "Qwen2.5-72B-Instruct", aa: "qwen2-5-72b-instruct", openrouter: "qwen/qwen-2.5-72b-instruct", deps: []dep{
			{"fireworks", "fireworks_ai/accounts/fireworks/models/qwen2p5-72b-instruct"},
			{"deepinfra", "deepinfra/Qwen/Qwen2.5-72B-Instruct"}}},
	{id: "qwen3-32b", aliases: []string{"qwen/qwen3-32b"}, family: "qwen3", vendor: "qwen", arena: "Qwen3-32B", aa: "qwen3-32b-instruct-reasoning", openrouter: "qwen/qwen3-32b", deps: []dep{
		{"groq", "groq/qwen/qwen3-32b"}, {"fireworks", "fireworks_ai/accounts/fireworks/models/qwen3-32b"}, {"deepinfra", "deepinfra/Qwen/Qwen3-32B"}}},
	{id: "qwen3-235b-a22b-instruct-2507", aliases: []string{"qwen3-235b-instruct", "qwen/qwen3-235b-a22b-2507"}, family: "qwen3", vendor: "qwen",
		arena: "Qwen3-235B-A22B-Instruct-2507", aa: "qwen3-235b-a22b-instruct-2507", openrouter: "qwen/qwen3-235b-a22b-2507", deps: []dep{
			{"together", "together_ai/Qwen/Qwen3-235B-A22B-Instruct-2507-tput"}, {"fireworks", "fireworks_ai/accounts/fireworks/models/qwen3-235b-a22b-instruct-2507"},
			{"deepinfra", "deepinfra/Qwen/Qwen3-235B-A22B-Instruct-2507"}}},
	{id: "qwen3-235b-a22b-thinking-2507", aliases: []string{"qwen3-235b-thinking", "qwen/qwen3-235b-a22b-thinking-2507"}, family: "qwen3", vendor: "qwen",
		arena: "Qwen3-235B-A22B-Thinking-2507", aa: "qwen3-235b-a22b-instruct-2507-reasoning", openrouter: "qwen/qwen3-235b-a22b-thinking-2507", addCaps: []string{"reasoning"}, deps: []dep{
			{"together", "together_ai/Qwen/Qwen3-235B-A22B-Thinking-2507"}, {"fireworks", "fireworks_ai/accounts/fireworks/models/qwen3-235b-a22b-thinking-2507"},
			{"deepinfra", "deepinfra/Qwen/Qwen3-235B-A22B-Thinking-2507"}}},
	{id: "qwen3-coder-480b", aliases: []string{"qwen3-coder-480b-a35b-instruct", "qwen/qwen3-coder"}, family: "qwen3", vendor: "qwen",
		arena: "Qwen3-Coder-480B-A35B-Instruct", aa: "qwen3-coder-480b-a35b-instruct", openrouter: "qwen/qwen3-coder", deps: []dep{
			{"together", "together_ai/Qwen/Qwen3-Coder-480B-A35B-Instruct-FP8"}, {"fireworks", "fireworks_ai/accounts/fireworks/models/qwen3-coder-480b-a35b-instruct"},
			{"deepinfra", "deepinfra/Qwen/Qwen3-Coder-480B-A35B-Instruct"}}},

	// DeepSeek.
	{id: "deepseek-v3", aliases: []string{"deepseek-ai/deepseek-v3"}, family: "deepseek-v3", vendor: "deepseek", arena: "DeepSeek-V3", aa: "deepseek-v3", context: 131072, deps: []dep{
		{"together", "together_ai/deepseek-ai/DeepSeek-V3"}, {"fireworks", "fireworks_ai/accounts/fireworks/models/deepseek-v3"}, {"deepinfra", "deepinfra/deepseek-ai/DeepSeek-V3"}},
		note: "context window: the 128k DeepSeek publishes"},
	{id: "deepseek-v3.1", aliases: []string{"deepseek-ai/deepseek-v3.1"}, family: "deepseek-v3", vendor: "deepseek", aa: "deepseek-v3-1", openrouter: "deepseek/deepseek-chat-v3.1", deps: []dep{
		{"together", "together_ai/deepseek-ai/DeepSeek-V3.1"}, {"fireworks", "fireworks_ai/accounts/fireworks/models/deepseek-v3p1"}, {"deepinfra", "deepinfra/deepseek-ai/DeepSeek-V3.1"}}},
	{id: "deepseek-v3.2", aliases: []string{"deepseek-chat"}, family: "deepseek-v3", vendor: "deepseek", aa: "deepseek-v3-2", dropCaps: []string{"reasoning"}, deps: []dep{
		{"deepseek", "deepseek/deepseek-chat"}, {"fireworks", "fireworks_ai/accounts/fireworks/models/deepseek-v3p2"}},
		note: "deepseek-chat is V3.2 without thinking (DeepSeek's API docs)"},
	{id: "deepseek-v3.2-reasoner", aliases: []string{"deepseek-reasoner"}, family: "deepseek-v3", vendor: "deepseek", aa: "deepseek-v3-2-reasoning",
		deps: []dep{{"deepseek", "deepseek/deepseek-reasoner"}}, note: "deepseek-reasoner is V3.2 in thinking mode (DeepSeek's API docs)"},
	{id: "deepseek-r1", aliases: []string{"deepseek-r1-0528", "deepseek-ai/deepseek-r1"}, family: "deepseek-r1", vendor: "deepseek", arena: "DeepSeek-R1-0528", openrouter: "deepseek/deepseek-r1-0528",
		addCaps: []string{"reasoning"}, deps: []dep{
			{"together", "together_ai/deepseek-ai/DeepSeek-R1"}, {"fireworks", "fireworks_ai/accounts/fireworks/models/deepseek-r1-0528"}, {"deepinfra", "deepinfra/deepseek-ai/DeepSeek-R1-0528"}}},
	{id: "deepseek-v4-flash", family: "deepseek-v4", vendor: "deepseek", aa: "deepseek-v4-flash", deps: []dep{
		{"deepseek", "deepseek/deepseek-v4-flash"}, {"fireworks", "fireworks_ai/accounts/fireworks/models/deepseek-v4-flash"}}},
	{id: "deepseek-v4-pro", family: "deepseek-v4", vendor: "deepseek", aa: "deepseek-v4-pro", deps: []dep{
		{"deepseek", "deepseek/deepseek-v4-pro"}, {"fireworks", "fireworks_ai/accounts/fireworks/models/deepseek-v4-pro"}}},

	// Other open-weight models.
	{id: "gpt-oss-120b", aliases: []string{"openai/gpt-oss-120b"}, family: "gpt-oss", vendor: "openai", aa: "gpt-oss-120b", openrouter: "openai/gpt-oss-120b", deps: []dep{
		{"together", "together_ai/openai/gpt-oss-120b"}, {"groq", "groq/openai/gpt-oss-120b"},
		{"fireworks", "fireworks_ai/accounts/fireworks/models/gpt-oss-120b"}, {"deepinfra", "deepinfra/openai/gpt-oss-120b"}}},
	{id: "gpt-oss-20b", aliases: []string{"openai/gpt-oss-20b"}, family: "gpt-oss", vendor: "openai", aa: "gpt-oss-20b", openrouter: "openai/gpt-oss-20b", deps: []dep{
		{"together", "together_ai/openai/gpt-oss-20b"}, {"groq", "groq/openai/gpt-oss-20b"},
		{"fireworks", "fireworks_ai/accounts/fireworks/models/gpt-oss-20b"}, {"deepinfra", "deepinfra/openai/gpt-oss-20b"}}},
	{id: "kimi-k2", aliases: []string{"kimi-k2-instruct-0905", "moonshotai/kimi-k2-0905"}, family: "kimi-k2", vendor: "moonshot", aa: "kimi-k2-0905", openrouter: "moonshotai/kimi-k2-0905", deps: []dep{
		{"together", "together_ai/moonshotai/Kimi-K2-Instruct-0905"}, {"groq", "groq/moonshotai/kimi-k2-instruct-0905"},
		{"fireworks", "fireworks_ai/accounts/fireworks/models/kimi-k2-instruct-0905"}, {"deepinfra", "deepinfra/moonshotai/Kimi-K2-Instruct-0905"}}},
	{id: "glm-4.5", aliases: []string{"z-ai/glm-4.5"}, family: "glm-4", vendor: "zhipu", arena: "GLM-4.5", aa: "glm-4.5", openrouter: "z-ai/glm-4.5", deps: []dep{
		{"deepinfra", "deepinfra/zai-org/GLM-4.5"}, {"fireworks", "fireworks_ai/accounts/fireworks/models/glm-4p5"}}},
}

// manual holds the LiteLLM-shaped facts of models LiteLLM no longer lists under the
// provider that still serves them.
var manual = map[string]map[string]any{
	// Anthropic's published prices for Claude Haiku 3.5: $0.80 in, $4 out, cache write
	// $1 (1.25×), cache read $0.08 (0.1×); 200k context, 8,192 output tokens.
	"manual:claude-3-5-haiku-20241022": {
		"litellm_provider": "anthropic", "mode": "chat",
		"input_cost_per_token": 8e-07, "output_cost_per_token": 4e-06,
		"cache_creation_input_token_cost": 1e-06, "cache_read_input_token_cost": 8e-08,
		"max_input_tokens": 200000.0, "max_output_tokens": 8192.0,
		"supports_function_calling": true, "supports_vision": true, "supports_response_schema": true,
		"supports_prompt_caching": true, "deprecation_date": "2026-02-19",
	},
}
