package openroutertest

import (
	"net/http"
	"time"
)

type keyJSON struct {
	Label              string  `json:"label"`
	Limit              *usd    `json:"limit"`
	LimitRemaining     *usd    `json:"limit_remaining"`
	LimitReset         *string `json:"limit_reset"`
	IncludeBYOKInLimit bool    `json:"include_byok_in_limit"`
	Usage              usd     `json:"usage"`
	UsageDaily         usd     `json:"usage_daily"`
	UsageWeekly        usd     `json:"usage_weekly"`
	UsageMonthly       usd     `json:"usage_monthly"`
	BYOKUsage          usd     `json:"byok_usage"`
	IsFreeTier         bool    `json:"is_free_tier"`
}

// serveKey handles GET /api/v1/key. Usage is the ledger's total cost; the
// daily, weekly (from Monday) and monthly figures count generations that
// ended in the current UTC day, week and month by Options.Now.
func (s *Simulator) serveKey(w http.ResponseWriter, r *http.Request) {
	now := s.opts.Now().UTC()
	day := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, time.UTC)
	week := day.AddDate(0, 0, -((int(day.Weekday()) + 6) % 7))
	month := time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, time.UTC)
	total := s.totalSpent()
	k := keyJSON{
		Label:        keyLabel(s.opts.APIKey),
		Usage:        usd(total),
		UsageDaily:   usd(s.spent(day)),
		UsageWeekly:  usd(s.spent(week)),
		UsageMonthly: usd(s.spent(month)),
	}
	if lim := s.opts.KeyLimit; lim != nil {
		l, rem := usd(*lim), usd(max(*lim-total, 0))
		k.Limit, k.LimitRemaining = &l, &rem
	}
	writeJSON(w, http.StatusOK, struct {
		Data keyJSON `json:"data"`
	}{k})
}

// keyLabel shows a key the way OpenRouter labels it: a prefix and the last
// three characters, never the whole key.
func keyLabel(key string) string {
	if len(key) < 24 {
		return "sk-or-v1-sim...key"
	}
	return key[:12] + "..." + key[len(key)-3:]
}
