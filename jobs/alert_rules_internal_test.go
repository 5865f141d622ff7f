package jobs

import (
	"testing"
	"time"
)

// TestDecide pins the rule of AlertChange.
func TestDecide(t *testing.T) {
	open := func(s Severity) *Alert { return &Alert{Severity: s} }
	held := func(s Severity) *Alert { return &Alert{Severity: s, IsResolved: true} }
	cases := []struct {
		name string
		live *Alert
		sev  Severity
		want AlertChange
	}{
		{"no live row opens one", nil, SeverityInfo, AlertOpened},
		{"a higher severity escalates the open row", open(SeverityInfo), SeverityWarning, AlertEscalated},
		{"info straight to critical escalates too", open(SeverityInfo), SeverityCritical, AlertEscalated},
		{"the same severity changes nothing", open(SeverityWarning), SeverityWarning, AlertUnchanged},
		{"a lower severity never lowers an open row", open(SeverityCritical), SeverityInfo, AlertUnchanged},
		{"a held row stays held at its severity", held(SeverityWarning), SeverityWarning, AlertHeld},
		{"and below it", held(SeverityWarning), SeverityInfo, AlertHeld},
		{"a higher severity than the held row opens a new one", held(SeverityWarning), SeverityCritical, AlertOpened},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := decide(c.live, c.sev); got != c.want {
				t.Fatalf("decide = %s, want %s", got, c.want)
			}
		})
	}
}

// TestShouldNotify pins the notification rule.
func TestShouldNotify(t *testing.T) {
	now := time.UnixMilli(10 * 3_600_000)
	ms := now.UnixMilli()
	hour := int64(3_600_000)
	cases := []struct {
		name string
		a    Alert
		want bool
	}{
		{"never notified (opened, escalated, or failed)", Alert{}, true},
		{"within the repeat interval", Alert{LastNotifiedAt: ms - hour + 1}, false},
		{"at the repeat interval", Alert{LastNotifiedAt: ms - hour}, true},
		{"acknowledged: no repeat", Alert{LastNotifiedAt: ms - 5*hour, AcknowledgedAt: ms - 4*hour}, false},
		{"acknowledged, then escalated (lastNotifiedAt cleared)", Alert{AcknowledgedAt: 0}, true},
		{"silenced, never notified", Alert{SilencedUntil: ms + 1}, false},
		{"silenced, due for a repeat", Alert{LastNotifiedAt: ms - 5*hour, SilencedUntil: ms + 1}, false},
		{"silence ran out this very moment", Alert{SilencedUntil: ms}, true},
		{"held (resolved by hand)", Alert{IsResolved: true}, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := shouldNotify(c.a, now, time.Hour); got != c.want {
				t.Fatalf("shouldNotify = %t, want %t", got, c.want)
			}
		})
	}
}

// TestCrossed: the highest threshold reached, in any configured order.
func TestCrossed(t *testing.T) {
	cases := []struct {
		used, limit int64
		th          []int
		pct         int
		ok          bool
	}{
		{79, 100, []int{80, 90, 100}, 0, false},
		{80, 100, []int{80, 90, 100}, 80, true},
		{99, 100, []int{100, 80, 90}, 90, true},
		{250, 100, []int{80, 90, 100}, 100, true},
		{9, 10, []int{90}, 90, true}, // exact: 9*100 >= 90*10
		{8, 9, []int{90}, 0, false},  // 800 < 810
		{0, 100, []int{0}, 0, true},  // a 0 % threshold always fires
	}
	for _, c := range cases {
		if pct, ok := crossed(c.used, c.limit, c.th); pct != c.pct || ok != c.ok {
			t.Errorf("crossed(%d, %d, %v) = %d %t, want %d %t", c.used, c.limit, c.th, pct, ok, c.pct, c.ok)
		}
	}
}

// TestAlertFormats: money and durations as people read them.
func TestAlertFormats(t *testing.T) {
	usd := map[int64]string{
		9_771_902_899:         "$9.77",
		9_775_000_000:         "$9.78", // half a cent rounds up
		0:                     "$0.00",
		4_200_000:             "$0.0042", // under a cent
		1_234_567_890_000:     "$1,234.57",
		-2_500_000_000:        "-$2.50",
		1_000_000_000_000_000: "$1,000,000.00",
	}
	for n, want := range usd {
		if got := formatUSD(n); got != want {
			t.Errorf("formatUSD(%d) = %q, want %q", n, got, want)
		}
	}
	durs := map[time.Duration]string{
		15 * time.Minute:                  "15 min",
		90 * time.Minute:                  "1 h 30 min",
		45 * time.Second:                  "45 s",
		0:                                 "0 s",
		26*time.Hour + 5*time.Minute:      "1 d 2 h",
		time.Hour + 1500*time.Millisecond: "1 h 2 s",
	}
	for d, want := range durs {
		if got := formatDuration(d); got != want {
			t.Errorf("formatDuration(%s) = %q, want %q", d, got, want)
		}
	}
	if got := formatCount(1234567); got != "1,234,567" {
		t.Errorf("formatCount = %q", got)
	}
}
