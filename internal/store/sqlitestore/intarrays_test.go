package sqlitestore

import (
	"encoding/json"
	"math"
	"slices"
	"testing"
)

// The bucket columns are read by encoding/json elsewhere (the admin reads)
// and written here: both directions must agree with it exactly.
func TestIntArraysMatchEncodingJSON(t *testing.T) {
	for _, v := range [][]int64{
		{},
		{0},
		{1, 0, 2},
		{-5, math.MaxInt64, math.MinInt64, 42},
	} {
		got := string(appendInts(nil, v))
		want, _ := json.Marshal(v)
		if got != string(want) {
			t.Errorf("appendInts(%v) = %s, encoding/json writes %s", v, got, want)
		}
		back := make([]int64, len(v))
		if err := parseInts(got, back); err != nil || !slices.Equal(back, v) {
			t.Errorf("parseInts(%s) = %v, %v; want %v", got, back, err, v)
		}
	}
}

func TestParseIntsAsJSONIntoAnArray(t *testing.T) {
	cases := []struct {
		name, in string
	}{
		{"empty: rows stored before the column existed read as zeros", `[]`},
		{"shorter than the array: the rest are zero", `[3,4]`},
		{"longer than the array: the extra elements are dropped", `[1,2,3,4,5]`},
		{"white space anywhere JSON allows it", " [ 1 ,\n2\t, 3 ] "},
		{"negative counts (a confirmation's delta)", `[-1,0,7]`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var want, got [3]int64
			for i := range got {
				got[i] = 99 // parseInts must clear what was there
			}
			if err := json.Unmarshal([]byte(c.in), &want); err != nil {
				t.Fatal(err)
			}
			if err := parseInts(c.in, got[:]); err != nil || got != want {
				t.Fatalf("parseInts(%q) = %v, %v; encoding/json reads %v", c.in, got, err, want)
			}
		})
	}
}

func TestParseIntsRefusesWhatIsNotAnIntegerArray(t *testing.T) {
	for _, in := range []string{``, `null`, `{}`, `[`, `[1`, `[1,]`, `[,1]`, `[1 2]`, `[1.5]`, `["1"]`, `[-]`, `[1]x`,
		`[99999999999999999999]`} {
		var dst [4]int64
		if err := parseInts(in, dst[:]); err == nil {
			t.Errorf("parseInts(%q) = %v, want an error", in, dst)
		}
	}
}
