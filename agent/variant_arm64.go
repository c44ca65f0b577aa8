package agent

// variant is this build's platform variant, as an image index names it:
// linux/arm64/v8 is the usual name of linux/arm64.
const variant = "v8"
