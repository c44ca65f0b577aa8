package agent

import (
	"errors"
	"fmt"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
)

// parseEntrypoints decodes a JSON object whose values are arrays of strings
// (or null), as encoding/json decodes it into a map[string][]string: the
// last of duplicate keys wins, a null array is nil, a null element is "",
// invalid UTF-8 and lone surrogates become U+FFFD. Written by hand because
// encoding/json's decoder would add 90 KB to every job pod's agent for this
// one value; the tests use encoding/json as the oracle.
func parseEntrypoints(s string) (map[string][]string, error) {
	p := jsonParser{s: s}
	p.space()
	if p.literal("null") {
		return nil, p.end()
	}
	if !p.next('{') {
		return nil, p.fail("want an object")
	}
	m := map[string][]string{}
	p.space()
	if p.next('}') {
		return m, p.end()
	}
	for {
		p.space()
		key, err := p.str()
		if err != nil {
			return nil, err
		}
		p.space()
		if !p.next(':') {
			return nil, p.fail("want ':'")
		}
		p.space()
		argv, err := p.argv()
		if err != nil {
			return nil, err
		}
		m[key] = argv
		p.space()
		if p.next('}') {
			return m, p.end()
		}
		if !p.next(',') {
			return nil, p.fail("want ',' or '}'")
		}
	}
}

type jsonParser struct {
	s string
	i int
}

func (p *jsonParser) fail(what string) error {
	if p.i >= len(p.s) {
		return fmt.Errorf("%s at the end", what)
	}
	return fmt.Errorf("%s at offset %d", what, p.i)
}

func (p *jsonParser) space() {
	for p.i < len(p.s) && (p.s[p.i] == ' ' || p.s[p.i] == '\t' || p.s[p.i] == '\n' || p.s[p.i] == '\r') {
		p.i++
	}
}

func (p *jsonParser) next(c byte) bool {
	if p.i < len(p.s) && p.s[p.i] == c {
		p.i++
		return true
	}
	return false
}

func (p *jsonParser) literal(lit string) bool {
	if len(p.s)-p.i >= len(lit) && p.s[p.i:p.i+len(lit)] == lit {
		p.i += len(lit)
		return true
	}
	return false
}

func (p *jsonParser) end() error {
	p.space()
	if p.i != len(p.s) {
		return p.fail("unexpected data after the value")
	}
	return nil
}

// argv reads an array of strings, or null.
func (p *jsonParser) argv() ([]string, error) {
	if p.literal("null") {
		return nil, nil
	}
	if !p.next('[') {
		return nil, p.fail("want an array of strings")
	}
	argv := []string{}
	p.space()
	if p.next(']') {
		return argv, nil
	}
	for {
		p.space()
		if p.literal("null") {
			argv = append(argv, "")
		} else {
			s, err := p.str()
			if err != nil {
				return nil, err
			}
			argv = append(argv, s)
		}
		p.space()
		if p.next(']') {
			return argv, nil
		}
		if !p.next(',') {
			return nil, p.fail("want ',' or ']'")
		}
	}
}

// str reads a string.
func (p *jsonParser) str() (string, error) {
	if !p.next('"') {
		return "", p.fail("want a string")
	}
	var b []byte
	for p.i < len(p.s) {
		c := p.s[p.i]
		switch {
		case c == '"':
			p.i++
			return string(b), nil
		case c < 0x20:
			return "", p.fail("control character in a string")
		case c == '\\':
			if p.i+1 >= len(p.s) {
				return "", p.fail("unterminated escape")
			}
			e := p.s[p.i+1]
			p.i += 2
			switch e {
			case '"', '\\', '/':
				b = append(b, e)
			case 'b':
				b = append(b, '\b')
			case 'f':
				b = append(b, '\f')
			case 'n':
				b = append(b, '\n')
			case 'r':
				b = append(b, '\r')
			case 't':
				b = append(b, '\t')
			case 'u':
				r, ok := p.hex4()
				if !ok {
					return "", p.fail("bad \\u escape")
				}
				if utf16.IsSurrogate(r) {
					// A pair makes one rune; anything else is U+FFFD, and
					// what follows is read on its own.
					save, d := p.i, utf8.RuneError
					if p.literal(`\u`) {
						if r2, ok := p.hex4(); ok {
							d = utf16.DecodeRune(r, r2)
						}
					}
					if d == utf8.RuneError {
						p.i = save
					}
					r = d
				}
				b = utf8.AppendRune(b, r)
			default:
				return "", p.fail("bad escape")
			}
		case c < utf8.RuneSelf:
			b = append(b, c)
			p.i++
		default:
			r, n := utf8.DecodeRuneInString(p.s[p.i:])
			if r == utf8.RuneError && n == 1 {
				b = utf8.AppendRune(b, utf8.RuneError)
			} else {
				b = append(b, p.s[p.i:p.i+n]...)
			}
			p.i += n
		}
	}
	return "", errors.New("unterminated string")
}

// hex4 reads the 4 hex digits of a \u escape.
func (p *jsonParser) hex4() (rune, bool) {
	if len(p.s)-p.i < 4 {
		return 0, false
	}
	h := p.s[p.i : p.i+4]
	for i := 0; i < 4; i++ {
		if c := h[i]; !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return 0, false
		}
	}
	v, _ := strconv.ParseUint(h, 16, 32)
	p.i += 4
	return rune(v), true
}
