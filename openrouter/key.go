package openrouter

import (
	"context"
	"fmt"

	"llmmeter/internal/money"
)

// KeyInfo is the state of the API key (GET /key), amounts in USD.
type KeyInfo struct {
	Label string
	// Limit is the credit limit; nil means unlimited.
	Limit *money.Nanos
	// LimitRemaining is nil when there is no limit.
	LimitRemaining *money.Nanos
	LimitReset     string // "daily", "weekly", "monthly" or "" (never)
	Usage          money.Nanos
	UsageDaily     money.Nanos
	UsageWeekly    money.Nanos
	UsageMonthly   money.Nanos
	IsFreeTier     bool
}

// Key fetches the key's limit and usage.
func (c *Client) Key(ctx context.Context) (*KeyInfo, error) {
	var out struct {
		Data *struct {
			Label          string   `json:"label"`
			Limit          optNanos `json:"limit"`
			LimitRemaining optNanos `json:"limit_remaining"`
			LimitReset     string   `json:"limit_reset"`
			Usage          optNanos `json:"usage"`
			UsageDaily     optNanos `json:"usage_daily"`
			UsageWeekly    optNanos `json:"usage_weekly"`
			UsageMonthly   optNanos `json:"usage_monthly"`
			IsFreeTier     flexBool `json:"is_free_tier"`
		} `json:"data"`
	}
	if err := c.getJSON(ctx, "/key", &out); err != nil {
		return nil, err
	}
	d := out.Data
	if d == nil {
		return nil, fmt.Errorf("openrouter: GET /key: %w: no data", ErrMalformedResponse)
	}
	return &KeyInfo{
		Label:          d.Label,
		Limit:          d.Limit.ptr(),
		LimitRemaining: d.LimitRemaining.ptr(),
		LimitReset:     d.LimitReset,
		Usage:          d.Usage.val(),
		UsageDaily:     d.UsageDaily.val(),
		UsageWeekly:    d.UsageWeekly.val(),
		UsageMonthly:   d.UsageMonthly.val(),
		IsFreeTier:     bool(d.IsFreeTier),
	}, nil
}
