// Command hello stands in for jobcheck's binaries in the images tests: a
// small static program that prints the version compiled into it.
package main

import "fmt"

var version = "dev"

func main() { fmt.Println(version) }
