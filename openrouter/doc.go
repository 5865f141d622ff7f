// Package openrouter is the gateway's client for OpenRouter's
// OpenAI-compatible API: chat completions (plain and streamed), the
// generation record, model pricing and the key's credit state.
//
// What it guarantees:
//
//   - Exact money. Costs are [money.Nanos] and prices [money.Price], decoded
//     from the decimal text on the wire, never through float64.
//   - Usage capture on every path. A [Stream] keeps a running [Summary]
//     (generation id, model, provider, finish reasons, usage, mid-stream
//     error) that is valid after any call to Next and final once Next
//     returns an error; a failed or cut-short call still yields the
//     generation id, so the caller can recover the record with
//     [Client.GetGeneration].
//   - Plain answers from streams. An [Assembler] folds a stream's chunks
//     into the body OpenRouter sends for "stream": false, byte for byte
//     (golden tests under testdata/assemble), so a caller that wants a
//     plain response can still stream and learn the generation id at once.
//     Given to [Stream.Assemble], it folds the chunks the stream decodes
//     anyway, so each chunk is decoded once.
//   - A cheap hot path. Stream.Next reads lines with bufio into reused
//     buffers and hands each SSE event over as soon as its terminating
//     blank line arrives. Chunks are decoded by a per-stream json.Decoder
//     that reuses repeated strings (id, model, provider, role), so a typical
//     event costs a few microseconds and two or three allocations.
//   - Tolerant parsing. A data line that is not JSON is reported as a
//     Malformed event and counted; the stream goes on. Token counts are
//     never negative; numbers may arrive as ints, floats, strings or null.
//   - Retries only where they are safe: the opening of a call, before any
//     byte of a successful response is handed over, on the errors
//     [IsRetryable] accepts, honouring Retry-After up to a bound (the
//     service's one retry policy, internal/retry).
//   - The API key goes only into the Authorization header: it is redacted
//     from upstream error text and Config prints it as <secret>.
//
// What it does not do:
//
//   - It does not retry or resume a stream once it has started, nor a
//     non-streaming call whose 200 body failed to arrive: either may already
//     have been billed.
//   - It does not store or log anything, and it does not rewrite the
//     caller's request beyond the "stream" flag.
//   - It does not validate model names or message contents beyond the
//     structure [ChatRequest.Validate] checks; OpenRouter is the judge.
//   - [Pricing.Cost] is an estimate for when usage.cost is missing; it does
//     not price images, web searches or audio.
//   - A Stream is for one goroutine; only Close may be called concurrently
//     with Next (to abort it).
package openrouter
