package inject

import (
	"encoding/json"
	"strings"
)

// Image is what a container image runs when the container sets no command.
type Image struct {
	Entrypoint []string // the image config's ENTRYPOINT
	Cmd        []string // its CMD

	// Platforms holds, per platform ("linux/arm64", contract.Platform), what
	// a multi-arch image runs when its platforms run different commands;
	// nil when they agree (Entrypoint and Cmd then hold it).
	Platforms map[string]Image

	// Err says why the image's config could not be read: the container is
	// then not wrapped, and this is shown in its warning.
	Err string
}

// Images holds what each image runs, by the container's image string as
// written in its spec.
type Images map[string]Image

// argv is what a process started from an image with command and args
// unset in part runs, by the container runtime's rules (containerd's and
// CRI-O's, after Docker's): a command replaces ENTRYPOINT and drops CMD;
// args replace CMD; ENTRYPOINT [""] means none.
//
// head goes into the wrapped container's command after the wrapper; tail,
// when setArgs, becomes its args (the image's CMD: setting command alone
// would drop it).
func (img Image) argv(hasArgs bool) (head, tail []string, setArgs bool) {
	head = img.Entrypoint
	if len(head) == 1 && head[0] == "" {
		head = nil
	}
	if hasArgs {
		return head, nil, false
	}
	return head, img.Cmd, len(img.Cmd) > 0
}

// runsNothing reports whether a container with no command and hasArgs
// would have nothing to run: the runtime refuses to start it.
func (img Image) runsNothing(hasArgs bool) bool {
	head, tail, _ := img.argv(hasArgs)
	return len(head) == 0 && len(tail) == 0 && !hasArgs
}

// entrypoints is the value of contract.EnvEntrypoints for a multi-arch
// image whose platforms disagree: per platform, the argv the agent puts
// before the arguments it is given (ENTRYPOINT, and CMD when the container
// has no args), as JSON with sorted keys.
func (img Image) entrypoints(hasArgs bool) string {
	m := make(map[string][]string, len(img.Platforms))
	for p, pi := range img.Platforms {
		head, tail, _ := pi.argv(hasArgs)
		m[p] = append(append([]string{}, head...), tail...)
	}
	var b strings.Builder
	e := json.NewEncoder(&b)
	e.SetEscapeHTML(false) // argv such as "a && b" stays readable in the pod spec
	e.Encode(m)            // a map of string slices always encodes
	return escapeRefs(strings.TrimSuffix(b.String(), "\n"))
}

// escapeRefs makes s come out of the kubelet's $(VAR) expansion as it is:
// the kubelet expands $(VAR) and turns $$ into $ in a container's command,
// args and env values, but an image's ENTRYPOINT and CMD were never
// expanded, so a $ copied from them into the pod spec is doubled.
func escapeRefs(s string) string {
	if !strings.Contains(s, "$") {
		return s
	}
	return strings.ReplaceAll(s, "$", "$$")
}

// escapeAll is escapeRefs on each string of argv, into a new slice.
func escapeAll(argv []string) []string {
	out := make([]string, len(argv))
	for i, a := range argv {
		out[i] = escapeRefs(a)
	}
	return out
}
