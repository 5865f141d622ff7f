package sqlitestore

import (
	"errors"
	"strconv"
)

// The aggregate rows keep their bucket counts (latencyBuckets, latencyFine,
// ttftBuckets) as JSON arrays of integers. Every ingest reads and rewrites
// those of each key it touches (about 400 rows a delivery batch, 107
// numbers each), where encoding/json's reflection was a tenth of the
// ingest's CPU (issue 15, fourth round). These two do the same for plain
// integer arrays, and the output is the JSON encoding/json writes, so
// every other reader of the columns is unchanged.

// appendInts appends v as a JSON array ("[1,0,2]").
func appendInts(dst []byte, v []int64) []byte {
	dst = append(dst, '[')
	for i, n := range v {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = strconv.AppendInt(dst, n, 10)
	}
	return append(dst, ']')
}

var errIntArray = errors.New("not a JSON array of integers")

// parseInts reads the JSON array of integers s into dst, as json.Unmarshal
// into a Go array does: elements past len(dst) are dropped, missing ones
// are zero ('[]', the default of rows stored before a column existed,
// reads as all zeros). Anything but integers, commas, brackets and white
// space is an error.
func parseInts(s string, dst []int64) error {
	clear(dst)
	i := skipSpace(s, 0)
	if i == len(s) || s[i] != '[' {
		return errIntArray
	}
	i = skipSpace(s, i+1)
	if i < len(s) && s[i] == ']' {
		return trailing(s, i+1)
	}
	for k := 0; ; k++ {
		j := i
		if j < len(s) && s[j] == '-' {
			j++
		}
		for j < len(s) && s[j] >= '0' && s[j] <= '9' {
			j++
		}
		n, err := strconv.ParseInt(s[i:j], 10, 64)
		if err != nil {
			return errIntArray
		}
		if k < len(dst) {
			dst[k] = n
		}
		i = skipSpace(s, j)
		if i == len(s) {
			return errIntArray
		}
		switch s[i] {
		case ',':
			i = skipSpace(s, i+1)
		case ']':
			return trailing(s, i+1)
		default:
			return errIntArray
		}
	}
}

func trailing(s string, i int) error {
	if skipSpace(s, i) != len(s) {
		return errIntArray
	}
	return nil
}

func skipSpace(s string, i int) int {
	for i < len(s) && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r') {
		i++
	}
	return i
}
