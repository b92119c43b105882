// Package demo runs Arbiter's main job on embedded defaults: the provider emulator
// stands in for OpenAI, Anthropic, Google and the open-model hosts, a built-in
// workload of realistic requests goes through the gateway, and the summary comes from
// the ledger.
package demo

import (
	"math/rand/v2"
)

// topic is one thing users ask about: the question as first asked, and the ways
// other users phrase the same question.
type topic struct {
	kind      string // simple, medium, hard
	question  string
	rephrased []string
	// retyped are the same question typed again a little differently (case,
	// contractions, punctuation): what the semantic cache answers with confidence.
	retyped    []string
	system     string
	wantsTools bool
}

// The prompts are written for this demo. Simple ones are what a cheap model answers
// as well as any; hard ones (proofs, debugging, multi-step maths) are where a strong
// model should help. The router sees only the text, and on prompts this short its
// learned prediction barely moves (docs/router.md says why), so `auto` answers
// nearly all of them with the same cheap model: the demo shows that as it is.
var topics = []topic{
	{kind: "simple", question: "What is the capital of Australia?", retyped: []string{"What's the capital of Australia?"}, rephrased: []string{"Which city is Australia's capital?", "Tell me the capital city of Australia."}},
	{kind: "simple", question: "How many days are there in a leap year?", rephrased: []string{"A leap year has how many days?"}},
	{kind: "simple", question: "Translate 'good morning' into Spanish.", rephrased: []string{"How do you say good morning in Spanish?"}},
	{kind: "simple", question: "What does HTTP stand for?", rephrased: []string{"Expand the acronym HTTP."}},
	{kind: "simple", question: "Give me a synonym for 'happy'.", rephrased: []string{"What's another word for happy?"}},
	{kind: "simple", question: "What is the boiling point of water at sea level in Celsius?", retyped: []string{"What's the boiling point of water at sea level in celsius?"}, rephrased: []string{"At sea level, water boils at what temperature in Celsius?"}},
	{kind: "simple", question: "Who wrote the novel Pride and Prejudice?", retyped: []string{"who wrote the novel Pride and Prejudice?"}, rephrased: []string{"Pride and Prejudice was written by whom?"}},
	{kind: "simple", question: "Convert 5 kilometres to miles.", rephrased: []string{"How many miles is 5 km?"}},
	{kind: "simple", question: "What is the chemical symbol for gold?", retyped: []string{"What's the chemical symbol for gold?"}, rephrased: []string{"Which element symbol stands for gold?"}},
	{kind: "simple", question: "Summarize in one sentence: the meeting moved from Tuesday to Thursday because the client is travelling.", rephrased: []string{"One-sentence summary please: the client is travelling so the meeting moved from Tuesday to Thursday."}},
	{kind: "simple", question: "Is a tomato a fruit or a vegetable?", rephrased: []string{"Botanically, is the tomato a fruit or a vegetable?"}},
	{kind: "simple", question: "Write a friendly one-line reminder that the office closes early on Friday.", rephrased: []string{"Draft a short friendly note: the office closes early this Friday."}},
	{kind: "simple", question: "What time zone is Tokyo in?", rephrased: []string{"Which time zone does Tokyo use?"}},
	{kind: "simple", question: "How do I make text bold in Markdown?", retyped: []string{"How do I make text bold in markdown?"}, rephrased: []string{"Markdown syntax for bold text?"}},
	{kind: "simple", question: "List three primary colours.", rephrased: []string{"Name the three primary colours."}},
	{kind: "simple", question: "What is 15% of 200?", rephrased: nil},
	{kind: "simple", question: "Classify the sentiment of this review as positive or negative: 'The battery died after two days.'", rephrased: nil, system: "You are a sentiment classifier. Answer with one word."},
	{kind: "simple", question: "Extract the city from: 'Ship to 12 Rue de Rivoli, Paris, France'.", rephrased: nil, system: "Extract fields and answer tersely."},
	{kind: "medium", question: "Explain the difference between a process and a thread.", retyped: []string{"Explain the difference between a process and a thread"}, rephrased: []string{"How does a thread differ from a process?", "Process vs thread: what's the difference?"}},
	{kind: "medium", question: "Summarize the main causes of the French Revolution in a paragraph.", rephrased: []string{"In one paragraph, what caused the French Revolution?"}},
	{kind: "medium", question: "Write a SQL query that returns the ten customers with the highest total order value.", rephrased: []string{"SQL: top 10 customers by total order amount?"}},
	{kind: "medium", question: "What are the pros and cons of microservices compared with a monolith?", rephrased: []string{"Monolith versus microservices: advantages and disadvantages?"}},
	{kind: "medium", question: "Explain what an index does in a relational database and when it hurts performance.", rephrased: []string{"When do database indexes help, and when do they slow things down?"}},
	{kind: "medium", question: "Draft a polite email declining a meeting invitation and proposing next week instead.", rephrased: []string{"Write a courteous email turning down a meeting and suggesting next week."}},
	{kind: "medium", question: "Explain how HTTPS protects data in transit.", retyped: []string{"Explain how HTTPS protects data while in transit."}, rephrased: []string{"How does HTTPS keep data safe while it travels over the network?"}},
	{kind: "medium", question: "What is the difference between TCP and UDP, and when would you use each?", retyped: []string{"What's the difference between TCP and UDP, and when would you use each?"}, rephrased: []string{"TCP or UDP: how do they differ and which should I pick when?"}},
	{kind: "medium", question: "Write a Python function that checks whether a string is a palindrome.", rephrased: []string{"Python: function to test if a string reads the same backwards."}},
	{kind: "medium", question: "What is the weather like in Paris today?", wantsTools: true},
	{kind: "medium", question: "Look up the order status for order 84412.", wantsTools: true},
	{kind: "hard", question: "Prove that there are infinitely many prime numbers, and explain each step of the argument.", rephrased: []string{"Give a careful step-by-step proof that the primes never run out."}},
	{kind: "hard", question: "A train leaves at 09:40 travelling 84 km/h; a second leaves the same station at 10:05 at 112 km/h on the same track. At what time does the second catch the first, and how far from the station? Show your working.", rephrased: nil},
	{kind: "hard", question: "Debug this Go code: a goroutine appends to a shared slice inside a loop and the final length is sometimes wrong. Explain the data race and show two correct fixes.", rephrased: []string{"My Go program appends to one slice from many goroutines and the length comes out wrong. What's the race and how do I fix it?"}},
	{kind: "hard", question: "Design a rate limiter for a multi-region API gateway that allows 1000 requests per minute per key with bursts, and analyse its failure modes.", rephrased: []string{"How would you build a per-key rate limiter (1000/min, bursty) across several regions, and how can it fail?"}},
	{kind: "hard", question: "Refactor a 2,000-line class that mixes database access, HTTP handling and business rules into a testable architecture; describe the steps and the risks.", rephrased: nil},
	{kind: "hard", question: "Analyze the time and space complexity of Dijkstra's algorithm with a binary heap versus a Fibonacci heap, and explain when the difference matters in practice.", rephrased: []string{"Compare Dijkstra with a binary heap and with a Fibonacci heap: complexity, and when does it matter?"}},
	{kind: "hard", question: "A bag has 5 red and 7 blue marbles. Three are drawn without replacement. What is the probability that exactly two are red? Explain the calculation.", rephrased: nil},
	{kind: "hard", question: "Optimize this SQL: SELECT * FROM orders WHERE DATE(created_at) = '2026-01-05' ORDER BY total DESC; the table has 200 million rows. Explain what the planner does before and after.", rephrased: nil},
	{kind: "hard", question: "Explain the CAP theorem precisely, correct two common misconceptions about it, and relate it to PACELC.", rephrased: []string{"What exactly does the CAP theorem say, what do people get wrong about it, and how does PACELC extend it?"}},
	{kind: "hard", question: "Write a concurrent, bounded, generic LRU cache in Go with per-entry TTL, and explain how you would test it for races.", rephrased: nil},
}

// request is one call of the workload.
type request struct {
	topic     int
	text      string
	model     string // "auto" or a concrete model
	anthropic bool   // sent to /v1/messages in Anthropic's format
	stream    bool
	burst     int // >0: sent as this many identical concurrent requests
}

// concreteModels are asked for by name in part of the workload, as applications
// that pin a model do; each is answered in its own provider's wire format.
var concreteModels = []string{"gpt-4o-mini", "gpt-4o", "claude-3-5-haiku-latest", "gemini-2.0-flash", "claude-sonnet-4-5", "gemini-2.5-flash"}

// workload builds n requests deterministically from seed: every topic asked, most
// asked again (exact repeats), many rephrased, a fifth streamed, a quarter from an
// Anthropic-format client, a third with a pinned model, and a few bursts of the same
// question at once.
func workload(n int, seed uint64) []request {
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	var out []request
	pick := func(t int, text string) request {
		r := request{topic: t, text: text, model: "auto"}
		if rng.Float64() < 0.33 {
			r.model = concreteModels[rng.IntN(len(concreteModels))]
		}
		r.anthropic = rng.Float64() < 0.25
		r.stream = rng.Float64() < 0.2
		return r
	}
	for len(out) < n {
		t := rng.IntN(len(topics))
		tp := topics[t]
		switch x := rng.Float64(); {
		case x < 0.2 && len(tp.retyped) > 0:
			out = append(out, pick(t, tp.retyped[rng.IntN(len(tp.retyped))]))
		case x < 0.55 || len(tp.rephrased) == 0:
			out = append(out, pick(t, tp.question))
		default:
			out = append(out, pick(t, tp.rephrased[rng.IntN(len(tp.rephrased))]))
		}
		if rng.Float64() < 0.03 {
			r := pick(t, tp.question)
			r.burst = 8
			out = append(out, r)
		}
	}
	return out[:n]
}
