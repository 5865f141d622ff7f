package openrouter

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync/atomic"
)

// EventKind tells what an Event carries.
type EventKind int

const (
	// EventComment is an SSE comment line such as ": OPENROUTER PROCESSING".
	EventComment EventKind = iota
	// EventData is a data payload (a chunk, or a Malformed one).
	EventData
	// EventDone is "data: [DONE]"; Next returns io.EOF after it.
	EventDone
)

func (k EventKind) String() string {
	switch k {
	case EventComment:
		return "comment"
	case EventData:
		return "data"
	case EventDone:
		return "done"
	}
	return fmt.Sprintf("EventKind(%d)", int(k))
}

// Event is one SSE event of a stream.
type Event struct {
	Kind EventKind
	// Raw is the data payload for EventData and EventDone (multi-line data
	// joined with "\n"), or the whole line including ':' for EventComment,
	// without line terminator. It is valid only until the next call to Next.
	Raw []byte
	// Chunk is the decoded payload of an EventData; nil otherwise and nil
	// when Malformed. A field of the wrong type is skipped rather than
	// failing the chunk. Like Raw, it is valid only until the next call to
	// Next (its Usage and Error, which Summary keeps, are not reused).
	Chunk *StreamChunk
	// Malformed marks a data payload that is not a JSON object. The stream
	// goes on; Summary.MalformedLines counts it.
	Malformed bool
}

// Stream reads a streamed chat completion. Next and Summary belong to one
// goroutine; Close may be called from any goroutine, e.g. to abort a Next
// blocked on a client that went away.
type Stream struct {
	ctx     context.Context
	header  http.Header
	body    io.ReadCloser
	br      *bufio.Reader
	long    []byte // assembles lines longer than br's buffer
	data    []byte // data lines of the pending event, joined by '\n'
	hasData bool
	maxLine int
	idSeen  bool
	dec     chunkDecoder
	asm     *Assembler // folds every chunk too (Assemble); nil: none
	onRead  func()     // runs before each read of the body (OnRead); nil: none
	sum     Summary
	err     error // sticky: returned by every Next once set
	closed  atomic.Bool
}

// streamBufSize is the line reader's buffer, held by every open stream for
// its whole life (10,000 idle streams held 160 MiB at 16 KiB, 40 MiB at
// 4 KiB). A token chunk is a few hundred bytes; a longer line is assembled
// in long, which then lives only as long as the stream that needed it.
// A small buffer costs no extra system calls: the body's reads are served
// from the transport's own connection buffer.
const streamBufSize = 512

func newStream(ctx context.Context, resp *http.Response, maxLine int) *Stream {
	s := &Stream{
		ctx:     ctx,
		header:  resp.Header,
		body:    resp.Body,
		maxLine: maxLine,
	}
	s.br = bufio.NewReaderSize(hookedBody{s}, streamBufSize)
	s.sum.fromHeader(resp.Header)
	return s
}

// Header is the response header (X-Generation-Id, rate-limit headers...).
func (s *Stream) Header() http.Header { return s.header }

// Summary is what the stream reported so far; final once Next has
// returned an error. Its Usage and Err point at decoded values that later
// events do not modify.
func (s *Stream) Summary() Summary { return s.sum }

// Close closes the body. It is safe to call more than once and
// concurrently with Next.
func (s *Stream) Close() error {
	if s.closed.Swap(true) {
		return nil
	}
	return s.body.Close()
}

// OnRead has f run before each read of the body: when Next has no whole
// event left in hand and may wait for the network. A proxy flushes what it
// wrote there, so that its client has every event before the proxy waits,
// while events that arrived together leave in one write. Call it before
// the first Next.
func (s *Stream) OnRead(f func()) { s.onRead = f }

// hookedBody is the body as the line reader reads it: OnRead's f first.
type hookedBody struct{ s *Stream }

func (h hookedBody) Read(p []byte) (int, error) {
	if h.s.onRead != nil {
		h.s.onRead()
	}
	return h.s.body.Read(p)
}

// Assemble has the stream fold every chunk it decodes into a as well, for
// a plain call's body (Assembler), so that each chunk is decoded once
// rather than once for the Summary and again by Assembler.Add. Call it
// before the first Next; a is then the stream's until it ends.
func (s *Stream) Assemble(a *Assembler) { s.asm = a }

// Next returns the next event. It returns io.EOF after [DONE] or when the
// body ends cleanly (check Summary.SawDone to tell the two apart), and an
// error wrapping ErrStreamInterrupted when the body breaks (including
// context cancellation, which errors.Is also matches). A pending event is
// still delivered when the body ends without its blank line.
func (s *Stream) Next() (Event, error) {
	if s.err == nil && s.closed.Load() {
		s.err = ErrStreamClosed
	}
	for s.err == nil {
		line, rerr := s.readLine()
		if rerr != nil {
			s.err = s.endError(rerr)
		}
		if len(line) > 0 || rerr == nil {
			if ev, ok := s.processLine(line); ok {
				return ev, nil
			}
		}
	}
	// The body ended inside an event: deliver it, since it may be the usage
	// chunk. Not after Close (the caller wants no more), nor when the event
	// was cut for size.
	if s.hasData && s.err != ErrStreamClosed && !errors.Is(s.err, ErrEventTooLarge) {
		if ev, ok := s.dispatch(); ok {
			return ev, nil
		}
	}
	return Event{}, s.err
}

// readLine returns the next line without its terminator ("\n" or "\r\n";
// a lone "\r", legal in SSE but unused by OpenRouter, is not a line end).
// At the end of the body it returns the unterminated rest with the error.
func (s *Stream) readLine() ([]byte, error) {
	line, err := s.br.ReadSlice('\n')
	if err == bufio.ErrBufferFull {
		s.long = append(s.long[:0], line...)
		for err == bufio.ErrBufferFull {
			if len(s.long) > s.maxLine {
				return nil, ErrEventTooLarge
			}
			line, err = s.br.ReadSlice('\n')
			s.long = append(s.long, line...)
		}
		line = s.long
	}
	if n := len(line); n > 0 && line[n-1] == '\n' {
		line = line[:n-1]
		if n := len(line); n > 0 && line[n-1] == '\r' {
			line = line[:n-1]
		}
	}
	if len(line) > s.maxLine {
		return nil, ErrEventTooLarge
	}
	return line, err
}

func (s *Stream) endError(err error) error {
	switch {
	case s.closed.Load():
		return ErrStreamClosed
	case err == io.EOF:
		return io.EOF
	case s.ctx.Err() != nil:
		return fmt.Errorf("%w: %w", ErrStreamInterrupted, s.ctx.Err())
	}
	return fmt.Errorf("%w: %w", ErrStreamInterrupted, err)
}

// processLine applies one line; ok when it completes an event.
func (s *Stream) processLine(line []byte) (Event, bool) {
	if len(line) == 0 {
		return s.dispatch()
	}
	if line[0] == ':' {
		return Event{Kind: EventComment, Raw: line}, true
	}
	field, value := line, []byte(nil)
	if i := bytes.IndexByte(line, ':'); i >= 0 {
		field, value = line[:i], line[i+1:]
		if len(value) > 0 && value[0] == ' ' {
			value = value[1:]
		}
	}
	switch string(field) {
	case "data":
		if s.hasData {
			s.data = append(s.data, '\n')
		}
		if len(s.data)+len(value) > s.maxLine {
			s.err = fmt.Errorf("%w: %w", ErrStreamInterrupted, ErrEventTooLarge)
			return Event{}, false
		}
		s.data = append(s.data, value...)
		s.hasData = true
	case "event", "id", "retry":
		// Valid SSE that OpenRouter does not use.
	default:
		s.sum.MalformedLines++
	}
	return Event{}, false
}

var doneMarker = []byte("[DONE]")

// dispatch completes the pending event, if any. The returned Raw aliases
// s.data, which the next event reuses.
func (s *Stream) dispatch() (Event, bool) {
	data := s.data
	s.data, s.hasData = s.data[:0], false
	if len(data) == 0 {
		return Event{}, false
	}
	if bytes.Equal(bytes.TrimSpace(data), doneMarker) {
		// [DONE] means the call completed, whatever the transport does next.
		s.sum.SawDone, s.err = true, io.EOF
		return Event{Kind: EventDone, Raw: data}, true
	}
	var c *StreamChunk
	if isObject(data) {
		c, _ = s.dec.decode(data)
	}
	if c == nil {
		s.sum.MalformedLines++
		return Event{Kind: EventData, Raw: data, Malformed: true}, true
	}
	if s.asm != nil {
		s.asm.fold(&s.dec.wire) // before the next decode reuses the wire
	}
	s.sum.observeChunk(c, &s.idSeen)
	return Event{Kind: EventData, Raw: data, Chunk: c}, true
}
