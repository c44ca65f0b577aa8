package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path"
	"slices"
	"strings"
	"testing"
)

// stage is what a Dockerfile build stage declares about the image it makes:
// what the images built here must match.
type stage struct {
	base       string   // FROM image or stage
	files      []string // absolute paths COPY and ADD put in the image, sorted
	user       string
	entrypoint []string
	cmd        []string
}

// parseDockerfile reads the stages of a Dockerfile, by name. It understands
// what jobcheck's Dockerfile uses (FROM [--flags] IMAGE [AS NAME], COPY and
// ADD with flags, USER, ENTRYPOINT, CMD in exec or shell form, line
// continuations, comments) and ignores other instructions. BuildKit's parser
// would have been the library to use, but its module raises two dozen of
// this module's dependencies (OpenTelemetry, gRPC, ...) for a test.
func parseDockerfile(file string) (map[string]*stage, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	stages := map[string]*stage{}
	var cur *stage
	for i, line := range logicalLines(string(b)) {
		word, rest, _ := strings.Cut(line, " ")
		rest = strings.TrimSpace(rest)
		inst := strings.ToUpper(word)
		if cur == nil && inst != "FROM" {
			continue // ARG before the first FROM, parser directives
		}
		switch inst {
		case "FROM":
			args := dropFlags(strings.Fields(rest))
			if len(args) == 0 {
				return nil, fmt.Errorf("%s: FROM without an image", file)
			}
			cur = &stage{base: args[0]}
			nameOf := fmt.Sprint(i)
			if len(args) == 3 && strings.EqualFold(args[1], "AS") {
				nameOf = args[2]
			}
			if parent, ok := stages[cur.base]; ok {
				*cur = *parent
				cur.base = args[0]
				cur.files = slices.Clone(parent.files)
			}
			stages[nameOf] = cur
		case "COPY", "ADD":
			args, err := words(rest)
			if err != nil {
				return nil, fmt.Errorf("%s: %s %s: %w", file, inst, rest, err)
			}
			args = dropFlags(args)
			if len(args) < 2 {
				return nil, fmt.Errorf("%s: %s %s: want sources and a destination", file, inst, rest)
			}
			dest := args[len(args)-1]
			for _, src := range args[:len(args)-1] {
				p := dest
				if strings.HasSuffix(dest, "/") || len(args) > 2 {
					p = path.Join(dest, path.Base(src))
				}
				cur.files = append(cur.files, path.Clean("/"+p))
			}
			slices.Sort(cur.files)
		case "USER":
			cur.user = rest
		case "ENTRYPOINT":
			if cur.entrypoint, err = execForm(rest); err != nil {
				return nil, fmt.Errorf("%s: ENTRYPOINT: %w", file, err)
			}
			cur.cmd = nil // a new ENTRYPOINT resets an inherited CMD
		case "CMD":
			if cur.cmd, err = execForm(rest); err != nil {
				return nil, fmt.Errorf("%s: CMD: %w", file, err)
			}
		}
	}
	return stages, nil
}

// logicalLines joins continued lines and drops comments and blank lines.
func logicalLines(s string) []string {
	var out []string
	var cur strings.Builder
	for _, l := range strings.Split(s, "\n") {
		t := strings.TrimSpace(l)
		if strings.HasPrefix(t, "#") {
			continue
		}
		if c, ok := strings.CutSuffix(t, `\`); ok {
			cur.WriteString(c + " ")
			continue
		}
		cur.WriteString(t)
		if line := strings.TrimSpace(cur.String()); line != "" {
			out = append(out, line)
		}
		cur.Reset()
	}
	return out
}

// words splits arguments given as a JSON array or separated by spaces.
func words(rest string) ([]string, error) {
	if strings.HasPrefix(rest, "[") {
		var a []string
		if err := json.Unmarshal([]byte(rest), &a); err != nil {
			return nil, fmt.Errorf("bad JSON array: %w", err)
		}
		return a, nil
	}
	return strings.Fields(rest), nil
}

// execForm is ENTRYPOINT or CMD as the image config holds it: the exec form
// as written, the shell form run by /bin/sh -c.
func execForm(rest string) ([]string, error) {
	if strings.HasPrefix(rest, "[") {
		return words(rest)
	}
	return []string{"/bin/sh", "-c", rest}, nil
}

func dropFlags(args []string) []string {
	var out []string
	for _, a := range args {
		if !strings.HasPrefix(a, "--") {
			out = append(out, a)
		}
	}
	return out
}

func TestParseDockerfile(t *testing.T) {
	dir := t.TempDir()
	file := dir + "/Dockerfile"
	src := `# syntax=docker/dockerfile:1
ARG X=1
FROM --platform=$BUILDPLATFORM golang:1 AS build
COPY . .
FROM scratch AS a
COPY --from=build /out/a \
     /a
USER 1:1
ENTRYPOINT ["/a"]
CMD ["serve", "--x"]
FROM a AS b
ADD x y /opt/
ENTRYPOINT /b run
`
	if err := os.WriteFile(file, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := parseDockerfile(file)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		stage string
		want  stage
	}{
		{"a", stage{base: "scratch", files: []string{"/a"}, user: "1:1", entrypoint: []string{"/a"}, cmd: []string{"serve", "--x"}}},
		{"b", stage{base: "a", files: []string{"/a", "/opt/x", "/opt/y"}, user: "1:1", entrypoint: []string{"/bin/sh", "-c", "/b run"}}},
	}
	for _, tt := range tests {
		s := got[tt.stage]
		if s == nil {
			t.Fatalf("stage %s missing: %v", tt.stage, got)
		}
		if s.base != tt.want.base || !slices.Equal(s.files, tt.want.files) || s.user != tt.want.user ||
			!slices.Equal(s.entrypoint, tt.want.entrypoint) || !slices.Equal(s.cmd, tt.want.cmd) {
			t.Errorf("stage %s = %+v, want %+v", tt.stage, *s, tt.want)
		}
	}
	if err := os.WriteFile(file, []byte("FROM scratch\nENTRYPOINT [\"/a\"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := parseDockerfile(file); err == nil || !strings.Contains(err.Error(), "ENTRYPOINT") {
		t.Errorf("bad ENTRYPOINT: err = %v, want one naming ENTRYPOINT", err)
	}
}
