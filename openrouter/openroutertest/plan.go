package openroutertest

import (
	"strings"
	"unicode/utf8"

	"llmmeter/internal/money"
)

// plan is what a request will generate, fixed before the first byte.
type plan struct {
	model     Model
	prompt    int64 // includes cached
	cached    int64
	reasoning int64 // hidden; billed once generation has begun
	content   int64 // streamed tokens
	finish    string
}

// tally is what has been billed: tokens and their cost.
type tally struct {
	prompt, cached, completion, reasoning int64
	cost                                  money.Nanos
}

// newPlan derives token counts from the request alone (see package doc).
func (s *Simulator) newPlan(req chatRequest, msgs []message, m Model, answer int) plan {
	p := plan{model: m, finish: "stop"}
	cache := req.PromptCacheKey != nil
	for _, msg := range msgs {
		p.prompt += (int64(utf8.RuneCountInString(msg.text))+3)/4 + 4
		cache = cache || msg.cache
	}
	if cache && m.InputCacheRead > 0 {
		p.cached = p.prompt / 2
	}
	p.content = int64(answer)
	on, budget := reasoningRequested(req.Reasoning)
	if on || m.reasons() {
		p.reasoning = (p.content + 1) / 2
		if budget > 0 {
			p.reasoning = budget
		}
	}
	limit := req.MaxTokens
	if req.MaxCompletionTokens != nil {
		limit = req.MaxCompletionTokens
	}
	if limit != nil && p.reasoning+p.content > *limit {
		p.finish = "length"
		p.reasoning = min(p.reasoning, *limit)
		p.content = *limit - p.reasoning
	}
	return p
}

// bill is the tally after sent content tokens, with the hidden reasoning
// tokens once generation has begun.
func (p plan) bill(sent int64, begun bool) tally {
	t := tally{prompt: p.prompt, cached: p.cached, completion: sent}
	if begun {
		t.reasoning = p.reasoning
		t.completion += p.reasoning
	}
	m := p.model
	t.cost = m.Prompt.Cost(t.prompt-t.cached) + m.InputCacheRead.Cost(t.cached) +
		m.Completion.Cost(t.completion) + m.Request.Cost(1)
	return t
}

var lorem = strings.Fields(`lorem ipsum dolor sit amet consectetur adipiscing elit sed do
	eiusmod tempor incididunt ut labore et dolore magna aliqua ut enim ad minim veniam quis
	nostrud exercitation ullamco laboris nisi aliquip ex ea commodo consequat`)

// answerText is the text of content tokens [from, to): one word per token.
func answerText(from, to int64) string {
	var b strings.Builder
	for i := from; i < to; i++ {
		b.WriteString(lorem[i%int64(len(lorem))])
		b.WriteByte(' ')
	}
	return b.String()
}
