package contract

import "strings"

// Platform is how an image index names a platform: "os/arch" or
// "os/arch/variant" (linux/amd64, linux/arm/v7).
func Platform(os, arch, variant string) string {
	if variant == "" {
		return os + "/" + arch
	}
	return os + "/" + arch + "/" + variant
}

// SelectEntrypoint picks the argv of the running platform from byPlatform
// (the value of EnvEntrypoints): the exact os/arch/variant, else os/arch,
// else the only entry of that os/arch with some variant.
func SelectEntrypoint(byPlatform map[string][]string, os, arch, variant string) ([]string, bool) {
	if variant != "" {
		if argv, ok := byPlatform[Platform(os, arch, variant)]; ok {
			return argv, true
		}
	}
	if argv, ok := byPlatform[Platform(os, arch, "")]; ok {
		return argv, true
	}
	var found []string
	n := 0
	for p, argv := range byPlatform {
		if strings.HasPrefix(p, Platform(os, arch, "")+"/") {
			found, n = argv, n+1
		}
	}
	if n != 1 {
		return nil, false
	}
	return found, true
}
