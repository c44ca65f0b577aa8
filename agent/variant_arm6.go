//go:build arm && arm.6 && !arm.7

package agent

// variant is this build's platform variant (GOARM=6), as an image index
// names it: linux/arm/v6.
const variant = "v6"
