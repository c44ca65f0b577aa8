package http1

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// chunkedReader decodes the chunked transfer coding (RFC 9112, 7.1) as it
// reads: its memory does not grow with the body. Chunk extensions and
// trailer fields are read and dropped.
type chunkedReader struct {
	r    *bufio.Reader
	left uint64 // bytes left in the current chunk
	mid  bool   // inside the body, after the first chunk
	err  error
}

func (c *chunkedReader) Read(p []byte) (int, error) {
	if c.err != nil {
		return 0, c.err
	}
	if c.left == 0 {
		if c.err = c.nextChunk(); c.err != nil {
			return 0, c.err
		}
	}
	if uint64(len(p)) > c.left {
		p = p[:c.left]
	}
	n, err := c.r.Read(p)
	c.left -= uint64(n)
	if err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	c.err = err
	return n, err
}

// nextChunk reads the CRLF ending the previous chunk and the next chunk's
// size line; after the last chunk it reads the trailer and returns io.EOF.
func (c *chunkedReader) nextChunk() error {
	if c.mid {
		line, err := readLine(c.r)
		if err != nil {
			return fmt.Errorf("chunked body: %w", err)
		}
		if line != "" {
			return errors.New("chunked body: data longer than its chunk size")
		}
	}
	c.mid = true
	line, err := readLine(c.r)
	if err != nil {
		return fmt.Errorf("chunked body: %w", err)
	}
	size, _, _ := strings.Cut(line, ";")
	size = strings.TrimRight(size, " \t")
	n, err := strconv.ParseUint(size, 16, 63)
	if err != nil || size == "" {
		return fmt.Errorf("chunked body: bad chunk size %q", clip(line))
	}
	if n > 0 {
		c.left = n
		return nil
	}
	for { // the trailer: header fields up to an empty line
		line, err := readLine(c.r)
		if err != nil {
			return fmt.Errorf("chunked body trailer: %w", err)
		}
		if line == "" {
			return io.EOF
		}
	}
}
