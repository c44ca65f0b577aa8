//go:build bench

// Command empty is the floor of every Go program: it does nothing. Built
// static and stripped like the agent, its start-to-exit time and its peak
// memory are what any Go binary pays before doing any work.
package main

func main() {}
