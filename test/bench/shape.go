//go:build bench

package main

import "fmt"

// shape names how y (in unit) grows with x (named per) over a few points:
// flat (under 25% from the lowest to the highest), else linear, sublinear or
// superlinear by whether the middle points lie within 30% of the line through
// the first and last, above it or below it; with the slope.
func shape(xs, ys []float64, unit, per string) string {
	if len(xs) < 2 || len(xs) != len(ys) {
		return "not measured"
	}
	lo, hi := ys[0], ys[0]
	for _, y := range ys {
		lo, hi = min(lo, y), max(hi, y)
	}
	n := len(xs) - 1
	if lo > 0 && hi/lo < 1.25 {
		return fmt.Sprintf("flat (%.3g to %.3g %s)", ys[0], ys[n], unit)
	}
	if ys[n] <= ys[0]*1.25 {
		return fmt.Sprintf("no growth (%.3g to %.3g %s; the points in between vary with the machine's load)", ys[0], ys[n], unit)
	}
	slope := (ys[n] - ys[0]) / (xs[n] - xs[0])
	kind := "linear"
	for i := 1; i < n; i++ {
		line := ys[0] + slope*(xs[i]-xs[0])
		switch d := (ys[i] - line) / line; {
		case d > 0.3:
			kind = "sublinear"
		case d < -0.3:
			kind = "superlinear"
		}
	}
	return fmt.Sprintf("%s, about %+.3g %s per %s (%.3g to %.3g %s)", kind, slope, unit, per, ys[0], ys[n], unit)
}
