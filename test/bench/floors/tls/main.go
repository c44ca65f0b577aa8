//go:build bench

// Command tls is the floor of a Go program that can speak https: it links
// net and crypto/tls, as the agent must for an https Pushgateway, and does
// nothing. Against the empty floor it shows what their package
// initialisers and the larger binary cost at every start.
package main

import (
	_ "crypto/tls"
	_ "net"
)

func main() {}
