package sse

import (
	"io"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestReaderParsesProviderStreams(t *testing.T) {
	in := ": keep-alive\n\n" +
		"event: message_start\ndata: {\"a\":1}\n\n" +
		"data: line1\ndata: line2\r\n\r\n" +
		"data:{\"nospace\":true}\n\n" +
		"data: [DONE]" // no trailing blank line
	r := NewReader(strings.NewReader(in))
	want := []Event{
		{Name: "message_start", Data: []byte(`{"a":1}`)},
		{Data: []byte("line1\nline2")},
		{Data: []byte(`{"nospace":true}`)},
		{Data: []byte("[DONE]")},
	}
	for i, w := range want {
		ev, err := r.Next()
		if err != nil {
			t.Fatalf("event %d: %v", i, err)
		}
		if ev.Name != w.Name || string(ev.Data) != string(w.Data) {
			t.Fatalf("event %d = %q %q, want %q %q", i, ev.Name, ev.Data, w.Name, w.Data)
		}
	}
	if _, err := r.Next(); err != io.EOF {
		t.Fatalf("after last event: %v, want EOF", err)
	}
}

func TestReaderRejectsOversizedEvent(t *testing.T) {
	r := NewReader(strings.NewReader("data: " + strings.Repeat("x", 100) + "\n\n"))
	r.MaxEventBytes = 50
	if _, err := r.Next(); err != ErrTooLarge {
		t.Fatalf("err = %v, want ErrTooLarge", err)
	}
}

func TestReaderLongLine(t *testing.T) {
	long := strings.Repeat("y", 100_000)
	r := NewReader(strings.NewReader("data: " + long + "\n\n"))
	ev, err := r.Next()
	if err != nil || string(ev.Data) != long {
		t.Fatalf("long line: len %d err %v", len(ev.Data), err)
	}
}

func TestWriterFlushesEachEvent(t *testing.T) {
	rec := httptest.NewRecorder()
	w := NewWriter(rec)
	if err := w.Write("ping", []byte(`{"type":"ping"}`)); err != nil {
		t.Fatal(err)
	}
	if !rec.Flushed {
		t.Fatal("event not flushed")
	}
	if got := rec.Body.String(); got != "event: ping\ndata: {\"type\":\"ping\"}\n\n" {
		t.Fatalf("body = %q", got)
	}
}

func TestBufferedMeansAWholeEventHasArrived(t *testing.T) {
	r := NewReader(strings.NewReader("data: 1\n\ndata: 2\n\ndata: 3"))
	if _, err := r.Next(); err != nil {
		t.Fatal(err)
	}
	if !r.Buffered() {
		t.Fatal("a whole second event is buffered")
	}
	r.Next()
	if r.Buffered() {
		t.Fatal("the third event has no blank line yet: it must not count as arrived")
	}
}

func TestHeldWritesFlushWithTheNextUnheldOne(t *testing.T) {
	rec := httptest.NewRecorder()
	w := NewWriter(rec)
	w.Hold(true)
	w.Write("", []byte("1"))
	if rec.Flushed {
		t.Fatal("a held write flushed")
	}
	w.Hold(false)
	w.Write("", []byte("2"))
	if !rec.Flushed || rec.Body.String() != "data: 1\n\ndata: 2\n\n" {
		t.Fatalf("flushed=%v body=%q", rec.Flushed, rec.Body.String())
	}
}
