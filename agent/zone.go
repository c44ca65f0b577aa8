package agent

//go:generate go run gen_zones.go

import (
	"encoding/binary"
	"fmt"
	"strings"
	"time"
)

// loadLocation loads the IANA time zone name ("" means UTC). The system's
// time zone database comes first; where there is none (a scratch or
// distroless-static image), Go's own database, as zones_table.go keeps it,
// stands in for it: for each zone the rule of its present and future
// offsets (and for the few zones that no rule describes, their whole data).
// That is exact for the next-run deadline, which is always in the future,
// and costs 29 KB where time/tzdata would cost 410 KB in every job pod.
func loadLocation(name string) (*time.Location, error) {
	if name == "" || name == "UTC" {
		return time.UTC, nil
	}
	loc, err := time.LoadLocation(name)
	if err == nil {
		return loc, nil
	}
	if loc, eerr := embeddedLocation(name); eerr == nil {
		return loc, nil
	}
	return nil, err
}

// embeddedLocation is the zone name from zones_table.go.
func embeddedLocation(name string) (*time.Location, error) {
	if data := zoneData(name); data != "" {
		return time.LoadLocationFromTZData(name, []byte(data))
	}
	rule, ok := zoneRule(name)
	if !ok {
		return nil, fmt.Errorf("unknown time zone %s", name)
	}
	return time.LoadLocationFromTZData(name, tzif(rule))
}

// zoneRule returns the POSIX TZ rule of the zone name.
func zoneRule(name string) (string, bool) {
	if name == "" || strings.ContainsAny(name, " \n") {
		return "", false
	}
	i := strings.Index(zoneRules, "\n"+name+" ")
	if i < 0 {
		return "", false
	}
	rule := zoneRules[i+len(name)+2:]
	return rule[:strings.IndexByte(rule, '\n')], true
}

// tzif is the smallest TZif (version 2) data that time.LoadLocationFromTZData
// reads as the POSIX TZ rule for all time: no transitions, one placeholder
// local time type, and the rule as the footer.
func tzif(rule string) []byte {
	header := func(b []byte) []byte {
		b = append(b, "TZif2"...)
		b = append(b, make([]byte, 15)...)
		// isutcnt, isstdcnt, leapcnt, timecnt, typecnt, charcnt
		for _, n := range []uint32{0, 0, 0, 0, 1, 1} {
			b = binary.BigEndian.AppendUint32(b, n)
		}
		return append(b, 0, 0, 0, 0, 0, 0, 0) // one type (offset 0, no DST, name ""), one NUL of names
	}
	b := header(nil) // the version 1 part, which readers of version 2 skip
	b = header(b)
	return append(append(append(b, '\n'), rule...), '\n')
}
