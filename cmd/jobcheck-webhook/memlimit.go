package main

import (
	"fmt"
	"runtime/debug"
	"strconv"
)

// envMemoryLimit holds the webhook container's memory limit in bytes: the
// Deployment sets it from the downward API (resourceFieldRef limits.memory).
const envMemoryLimit = "JOBCHECK_MEMORY_LIMIT"

// memoryLimitShare is the part of the container's memory limit the Go
// runtime aims to stay under: the rest is headroom for what the runtime does
// not count (stacks of new goroutines, the binary, page cache charged to the
// cgroup), so that the garbage collector works hard before the kernel's OOM
// killer acts, not after.
const memoryLimitShare = 0.9

// setMemoryLimit sets the Go runtime's soft memory limit to 90% of the
// container's memory limit read from envMemoryLimit, unless GOMEMLIMIT is set
// (a person's choice wins) or the variable is absent. It returns the limit
// set (0: none). An unreadable value is an error for the log: the webhook
// runs on with the runtime's default.
func setMemoryLimit(getenv func(string) string) (int64, error) {
	if getenv("GOMEMLIMIT") != "" {
		return 0, nil
	}
	v := getenv(envMemoryLimit)
	if v == "" {
		return 0, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("%s=%q: want the container's memory limit in bytes; the Go runtime's memory limit is left unset", envMemoryLimit, v)
	}
	limit := int64(float64(n) * memoryLimitShare)
	debug.SetMemoryLimit(limit)
	return limit, nil
}
