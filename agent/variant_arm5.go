//go:build arm && !arm.6

package agent

// variant is this build's platform variant (GOARM=5), as an image index
// names it: linux/arm/v5.
const variant = "v5"
