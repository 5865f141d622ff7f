package jobs

import (
	"fmt"
	"strings"
	"time"

	"llmmeter/internal/money"
)

// The alert messages are read by people (portal, Slack): money in dollars
// and cents, durations in words, quota types in words. Exact amounts stay
// in the alert's metadata.

// formatUSD renders nanos as "$1,234.57" (rounded half away from zero to
// the cent), or with four decimals under a cent ("$0.0042").
func formatUSD(n int64) string {
	sign := ""
	if n < 0 {
		sign, n = "-", -n
	}
	const cent = money.NanosPerUSD / 100
	if n != 0 && n < int64(cent) {
		const tenth = int64(money.NanosPerUSD) / 10_000 // $0.0001
		v := (n + tenth/2) / tenth
		return fmt.Sprintf("%s$0.%04d", sign, v)
	}
	cents := (n + int64(cent)/2) / int64(cent)
	return fmt.Sprintf("%s$%s.%02d", sign, groupThousands(cents/100), cents%100)
}

func groupThousands(v int64) string {
	s := fmt.Sprint(v)
	var b strings.Builder
	for i, r := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	return b.String()
}

// formatDuration renders d in at most two units: "45 s", "15 min",
// "1 h 30 min", "2 d 3 h".
func formatDuration(d time.Duration) string {
	d = d.Round(time.Second)
	units := []struct {
		name string
		size time.Duration
	}{{"d", 24 * time.Hour}, {"h", time.Hour}, {"min", time.Minute}, {"s", time.Second}}
	var parts []string
	for _, u := range units {
		if n := d / u.size; n > 0 || (len(parts) == 0 && u.size == time.Second) {
			parts = append(parts, fmt.Sprintf("%d %s", n, u.name))
			d -= n * u.size
		}
		if len(parts) == 2 || (len(parts) == 1 && d == 0) {
			break
		}
	}
	return strings.Join(parts, " ")
}

// quotaLabel names a quota type in words.
func quotaLabel(quotaType string) string {
	switch quotaType {
	case QuotaDailyRequests:
		return "daily request"
	case QuotaMonthlyTokens:
		return "monthly token"
	case QuotaMonthlyCostUSD:
		return "monthly cost"
	case QuotaSystemMonthlyCostUSD:
		return "monthly system budget"
	}
	return strings.ReplaceAll(quotaType, "_", " ")
}

// formatCount renders an integer with thousands separators.
func formatCount(v int64) string {
	if v < 0 {
		return "-" + groupThousands(-v)
	}
	return groupThousands(v)
}
