package runs

import (
	"slices"
	"strconv"
	"strings"
)

// maxIndexesLen bounds the failed_indexes label value: a label is part of a
// series' identity, and an Indexed Job can have 100,000 indexes.
const maxIndexesLen = 64

// compress writes indexes as the Job controller writes status.failedIndexes:
// sorted, without duplicates, runs of consecutive ones as intervals
// ("1,3-5"), bounded by bound.
func compress(idx []int) string {
	if len(idx) == 0 {
		return ""
	}
	idx = slices.Clone(idx)
	slices.Sort(idx)
	idx = slices.Compact(idx)
	var b strings.Builder
	for i := 0; i < len(idx); {
		j := i
		for j+1 < len(idx) && idx[j+1] == idx[j]+1 {
			j++
		}
		if b.Len() > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.Itoa(idx[i]))
		if j > i {
			b.WriteByte('-')
			b.WriteString(strconv.Itoa(idx[j]))
		}
		i = j + 1
	}
	return bound(b.String())
}

// bound cuts a list of indexes longer than maxIndexesLen after its last
// whole element that fits and marks the cut with ",...".
func bound(s string) string {
	if len(s) <= maxIndexesLen {
		return s
	}
	const more = ",..."
	cut := strings.LastIndexByte(s[:maxIndexesLen-len(more)+1], ',')
	if cut < 0 {
		return more[1:]
	}
	return s[:cut] + more
}
