//go:build !arm && !arm64

package agent

// variant is this build's platform variant, as an image index names it
// (linux/arm/v7): none for this architecture.
const variant = ""
