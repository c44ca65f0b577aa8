package agent

import (
	"fmt"
	"maps"
	"runtime"
	"slices"
	"strings"

	"github.com/jobcheck/jobcheck/contract"
)

// Entrypoint returns the command to run when contract.EnvEntrypoints holds
// raw (a JSON object platform -> argv, for an image whose entrypoint differs
// per platform): this binary's platform's argv followed by args. The error
// names the platform and the platforms there are.
func Entrypoint(raw string, args []string) ([]string, error) {
	platform := contract.Platform(runtime.GOOS, runtime.GOARCH, variant)
	m, err := parseEntrypoints(raw)
	if err != nil {
		return nil, fmt.Errorf("%s is not a JSON object of platform to argv (%v): no entrypoint for %s", contract.EnvEntrypoints, err, platform)
	}
	argv, ok := contract.SelectEntrypoint(m, runtime.GOOS, runtime.GOARCH, variant)
	if !ok {
		keys := strings.Join(slices.Sorted(maps.Keys(m)), ", ")
		if keys == "" {
			keys = "none"
		}
		return nil, fmt.Errorf("%s has no entrypoint for %s (it has: %s)", contract.EnvEntrypoints, platform, keys)
	}
	return append(slices.Clip(argv), args...), nil
}
