// Package sse reads and writes Server-Sent Events, the framing every provider uses for
// streamed responses.
package sse

import (
	"bufio"
	"bytes"
	"io"
	"net/http"
)

// Event is one server-sent event. Name is the "event:" field ("" when absent); Data is
// the "data:" lines joined by newlines. Data is only valid until the next call to Next.
type Event struct {
	Name string
	Data []byte
}

// Reader parses events from a stream. It allocates only when an event's data spans
// several lines or exceeds the buffer.
type Reader struct {
	br   *bufio.Reader
	data []byte
	name []byte
	// MaxEventBytes bounds one event's size so that a broken upstream cannot exhaust
	// memory; 0 means 8 MiB.
	MaxEventBytes int
}

// NewReader returns a Reader over r.
func NewReader(r io.Reader) *Reader { return &Reader{br: bufio.NewReaderSize(r, 16<<10)} }

// Buffered reports whether a whole next event has already arrived (its blank line
// included), so that a relay can write it before flushing without ever holding an
// event back while it waits for the network.
func (r *Reader) Buffered() bool {
	n := r.br.Buffered()
	if n == 0 {
		return false
	}
	b, _ := r.br.Peek(n) // never blocks: n bytes are buffered
	return bytes.Contains(b, []byte("\n\n")) || bytes.Contains(b, []byte("\r\n\r\n"))
}

// ErrTooLarge is returned when an event exceeds MaxEventBytes.
var ErrTooLarge = errTooLarge{}

type errTooLarge struct{}

func (errTooLarge) Error() string { return "sse: event too large" }

// Next returns the next event with data, io.EOF at a clean end of stream, or
// io.ErrUnexpectedEOF when the stream ends in the middle of an event.
func (r *Reader) Next() (Event, error) {
	max := r.MaxEventBytes
	if max <= 0 {
		max = 8 << 20
	}
	r.data = r.data[:0]
	r.name = r.name[:0]
	hasData := false
	for {
		line, err := r.br.ReadSlice('\n')
		if err == bufio.ErrBufferFull {
			// A long line: gather it whole.
			full := append([]byte(nil), line...)
			for err == bufio.ErrBufferFull {
				if len(full) > max {
					return Event{}, ErrTooLarge
				}
				line, err = r.br.ReadSlice('\n')
				full = append(full, line...)
			}
			line = full
		}
		if err != nil && err != io.EOF {
			return Event{}, err
		}
		if err == io.EOF && len(line) == 0 {
			if hasData {
				// The final event lacked its blank line; providers do this, accept it.
				return Event{Name: string(r.name), Data: r.data}, nil
			}
			if len(r.name) > 0 {
				return Event{}, io.ErrUnexpectedEOF
			}
			return Event{}, io.EOF
		}
		line = bytes.TrimRight(line, "\r\n")
		if len(line) == 0 {
			if hasData {
				return Event{Name: string(r.name), Data: r.data}, nil
			}
			r.name = r.name[:0]
			if err == io.EOF {
				return Event{}, io.EOF
			}
			continue
		}
		if line[0] == ':' { // comment / keep-alive
			continue
		}
		field, value, _ := bytes.Cut(line, []byte(":"))
		if len(value) > 0 && value[0] == ' ' {
			value = value[1:]
		}
		switch string(field) {
		case "data":
			if hasData {
				r.data = append(r.data, '\n')
			}
			r.data = append(r.data, value...)
			hasData = true
			if len(r.data) > max {
				return Event{}, ErrTooLarge
			}
		case "event":
			r.name = append(r.name[:0], value...)
		}
		if err == io.EOF {
			if hasData {
				return Event{Name: string(r.name), Data: r.data}, nil
			}
			return Event{}, io.EOF
		}
	}
}

// Writer writes events to an HTTP response and flushes after each one, so that every
// event reaches the client as soon as it is written.
type Writer struct {
	w    io.Writer
	f    http.Flusher
	buf  []byte
	hold bool
}

// Hold makes the following Writes leave their bytes in the response's buffer rather
// than flush them, for a relay that knows the next event has already arrived: the
// next Write without hold flushes them all. It saves a write system call per event
// when events come in bursts and costs no latency, since nothing waits in the buffer
// while the relay waits for more.
func (w *Writer) Hold(h bool) { w.hold = h }

// NewWriter returns a Writer; w should implement http.Flusher (it is flushed when it does).
func NewWriter(w io.Writer) *Writer {
	f, _ := w.(http.Flusher)
	return &Writer{w: w, f: f}
}

// Header sets the headers of an event stream response on h.
func Header(h http.Header) {
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	h.Set("Connection", "keep-alive")
	h.Set("X-Accel-Buffering", "no") // stop nginx-style proxies from buffering the stream
}

// Write writes one event ("event: name" only when name is not empty) and flushes.
// data must not contain newlines (JSON encoders do not produce them).
func (w *Writer) Write(name string, data []byte) error {
	b := w.buf[:0]
	if name != "" {
		b = append(b, "event: "...)
		b = append(b, name...)
		b = append(b, '\n')
	}
	b = append(b, "data: "...)
	b = append(b, data...)
	b = append(b, '\n', '\n')
	w.buf = b
	if _, err := w.w.Write(b); err != nil {
		return err
	}
	if w.f != nil && !w.hold {
		w.f.Flush()
	}
	return nil
}
