package agent

import (
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestTailKeepsTheLastLines(t *testing.T) {
	tl := newTail(3)
	tl.Write([]byte("one\ntwo\nth"))
	tl.Write([]byte("ree\nfour\nfi"))
	if got, want := tl.Lines(), []string{"three", "four", "fi"}; !reflect.DeepEqual(got, want) {
		t.Errorf("Lines() = %q, want %q", got, want)
	}
	tl.Write([]byte(strings.Repeat("x", 10000) + "\n"))
	got := tl.Lines()
	if len(got) != 3 || len(got[2]) != tailLineLen {
		t.Errorf("a huge line must be capped at %d bytes, got %d lines, last %d bytes", tailLineLen, len(got), len(got[len(got)-1]))
	}
}

func TestPeriodsFollowMaxAge(t *testing.T) {
	cases := []struct {
		maxAge, refresh, push time.Duration
	}{
		{2 * time.Second, time.Second, 30 * time.Second},
		{10 * time.Minute, 150 * time.Second, 150 * time.Second},
		{2 * time.Hour, 30 * time.Minute, 5 * time.Minute},
	}
	for _, tc := range cases {
		if got := refreshPeriod(tc.maxAge); got != tc.refresh {
			t.Errorf("refreshPeriod(%s) = %s, want %s", tc.maxAge, got, tc.refresh)
		}
		if got := pushPeriod(tc.maxAge); got != tc.push {
			t.Errorf("pushPeriod(%s) = %s, want %s", tc.maxAge, got, tc.push)
		}
	}
}
