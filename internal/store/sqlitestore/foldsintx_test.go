package sqlitestore

import (
	"testing"
	"time"

	"llmmeter/internal/fold"
	"llmmeter/internal/periods"
	"llmmeter/internal/store"
)

// TestFoldsInTxAgreesWithLimitPeriods: the one-hour shortcut of foldsInTx
// answers what counting every row's periods answers.
func TestFoldsInTxAgreesWithLimitPeriods(t *testing.T) {
	loc, err := time.LoadLocation("Australia/Lord_Howe") // half-hour DST shifts
	if err != nil {
		t.Fatal(err)
	}
	cal := periods.For(loc)
	hour := time.Date(2026, 4, 4, 14, 0, 0, 0, time.UTC).UnixMilli() // around the April shift
	batch := func(ts ...int64) store.Batch {
		var b store.Batch
		for i, x := range ts {
			switch i % 3 {
			case 0:
				b.Usage = append(b.Usage, store.Usage{Timestamp: x})
			case 1:
				b.RequestLogs = append(b.RequestLogs, store.RequestLog{Timestamp: x})
			default:
				b.Activity = append(b.Activity, store.Activity{Timestamp: x})
			}
		}
		return b
	}
	cases := []struct {
		name string
		b    store.Batch
		want bool
	}{
		{"empty", batch(), true},
		{"one row", batch(hour), true},
		{"seconds of traffic in one hour, out of order", batch(hour+5_000, hour+1_000, hour+59*60_000, hour+30_000), true},
		{"two hours: eight periods", batch(hour, hour+90*60_000, hour+30_000), true},
		{"across the DST shift, half-hour steps", batch(hour, hour+30*60_000, hour+60*60_000, hour+150*60_000), true},
		{"a backfill over days", batch(hour, hour-24*3_600_000, hour-48*3_600_000, hour-72*3_600_000, hour-96*3_600_000, hour-120*3_600_000, hour+1), false},
		{"a backfill over months", batch(hour, hour-40*24*3_600_000, hour-80*24*3_600_000, hour-120*24*3_600_000), false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := fold.Pending{Usage: c.b.Usage, RequestLogs: c.b.RequestLogs, Activity: c.b.Activity}
			counted := fold.LimitPeriods(cal, p, fold.MaxPeriods).Len() == p.Len()
			if got := foldsInTx(cal, c.b); got != c.want || counted != c.want {
				t.Fatalf("foldsInTx %v, counting the periods %v; want %v", got, counted, c.want)
			}
		})
	}
}
