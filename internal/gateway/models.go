package gateway

import (
	"context"
	"net/http"
	"sync"
	"time"

	"llmmeter/openrouter"
)

// modelCache keeps OpenRouter's model list (with pricing) for a while, so
// that /v1/models and cost estimates do not call upstream every time.
type modelCache struct {
	client *openrouter.Client
	ttl    time.Duration
	now    func() time.Time

	mu         sync.Mutex
	refreshing bool
	fetched    time.Time
	list       []openrouter.Model
	byID       map[string]openrouter.Model // replaced, never changed, on refresh
	ceiling    openrouter.Pricing          // the highest known prices of the list
}

// get returns the list, fetching it when missing or stale. The lock is not
// held over the network, so view (the hot path) never waits on a refresh.
func (c *modelCache) get(ctx context.Context) ([]openrouter.Model, map[string]openrouter.Model, error) {
	c.mu.Lock()
	if c.list != nil && c.now().Sub(c.fetched) < c.ttl {
		defer c.mu.Unlock()
		return c.list, c.byID, nil
	}
	c.mu.Unlock()
	list, err := c.client.Models(ctx)
	c.mu.Lock()
	defer c.mu.Unlock()
	if err != nil {
		if c.list != nil {
			return c.list, c.byID, nil // stale beats nothing
		}
		return nil, nil, err
	}
	c.list, c.fetched = list, c.now()
	c.byID = make(map[string]openrouter.Model, len(list))
	c.ceiling = openrouter.Pricing{}
	for _, m := range list {
		c.byID[m.ID] = m
		if p := m.Pricing; p.Known() {
			c.ceiling.Prompt, c.ceiling.Completion = max(c.ceiling.Prompt, p.Prompt), max(c.ceiling.Completion, p.Completion)
			c.ceiling.Request = max(c.ceiling.Request, p.Request)
		}
	}
	return c.list, c.byID, nil
}

// priceView is the cached list as the hot path sees it, without waiting.
type priceView struct {
	byID    map[string]openrouter.Model // nil until the list was fetched once
	ceiling openrouter.Pricing
}

// price is what a reservation assumes model costs: its own prices when
// known; the highest known prices of any model when it is listed without
// a usable price (a router model such as openrouter/auto quotes -1). ok is
// false for a model missing from the list (or before the list was fetched).
func (v priceView) price(model string) (p openrouter.Pricing, ok bool) {
	m, found := v.byID[model]
	switch {
	case !found:
		return openrouter.Pricing{}, false
	case m.Pricing.Known():
		return m.Pricing, true
	default:
		return v.ceiling, true
	}
}

// outputLimit is the most tokens one completion of model may have, 0 when
// unknown.
func (v priceView) outputLimit(model string) int64 { return v.byID[model].MaxCompletionTokens }

// view returns the list only if it is already cached; it never waits on
// the network (the hot path calls it), but starts a refresh when the list
// is missing or stale.
func (c *modelCache) view() priceView {
	c.mu.Lock()
	v := priceView{byID: c.byID, ceiling: c.ceiling}
	stale := c.list == nil || c.now().Sub(c.fetched) >= c.ttl
	if stale && !c.refreshing {
		c.refreshing = true
		go func() {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			c.get(ctx)
			c.mu.Lock()
			c.refreshing = false
			c.mu.Unlock()
		}()
	}
	c.mu.Unlock()
	return v
}

// pricing returns the price table entry of model, if known.
func (c *modelCache) pricing(ctx context.Context, model string) (openrouter.Pricing, bool) {
	_, byID, err := c.get(ctx)
	if err != nil {
		return openrouter.Pricing{}, false
	}
	m, ok := byID[model]
	return m.Pricing, ok
}

// listModels answers GET /v1/models in OpenAI's list shape, with
// OpenRouter's name, context length and pricing kept beside.
func (s *Server) listModels(w http.ResponseWriter, r *http.Request) error {
	list, _, err := s.models.get(r.Context())
	if err != nil {
		return upstreamOrUnreachable(err)
	}
	type model struct {
		ID            string             `json:"id"`
		Object        string             `json:"object"`
		Created       int64              `json:"created"`
		OwnedBy       string             `json:"owned_by"`
		Name          string             `json:"name,omitempty"`
		ContextLength int64              `json:"context_length,omitempty"`
		Pricing       openrouter.Pricing `json:"pricing"`
	}
	out := struct {
		Object string  `json:"object"`
		Data   []model `json:"data"`
	}{Object: "list", Data: make([]model, 0, len(list))}
	for _, m := range list {
		out.Data = append(out.Data, model{ID: m.ID, Object: "model", OwnedBy: "openrouter", Name: m.Name, ContextLength: m.ContextLength, Pricing: m.Pricing})
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}
