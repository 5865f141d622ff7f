// Package openroutertest is an OpenRouter simulator in the style of
// net/http/httptest. It stands in for https://openrouter.ai/api/v1 in tests,
// benchmarks and the local demo, speaking OpenRouter's wire format:
// POST /chat/completions (streamed and plain), GET /generation, GET /models
// and GET /key, all under /api/v1.
//
// [NewServer] starts one on 127.0.0.1 with a random port; [NewHandler]
// returns the bare [Simulator] to mount elsewhere; [ListenAndServe] and
// [Serve] run one as a standalone process. It imports no "testing", so the
// service's demo mode can use it.
//
// # What it guarantees
//
//   - A ledger. Every generation it serves (anything that got a gen- id) is
//     recorded with its tokens and exact cost in [money.Nanos], including
//     generations cut short by a fault or by the client going away: those
//     are billed for the prompt and the completion tokens already sent, as
//     OpenRouter bills what was generated. End-to-end tests compare their
//     store with [Simulator.Ledger] to the last nano-dollar.
//   - The ledger is written before the client can see the end of a
//     response: once a client has read data: [DONE] (or the mid-stream error
//     chunk, or the end of a plain response), [Simulator.Ledger] already
//     holds that generation. After a client disconnect the server learns of
//     it asynchronously: use [Simulator.WaitGeneration] or
//     [Simulator.WaitIdle], never a sleep.
//   - usage.cost on the wire is the ledger's Nanos as decimal text, so it
//     parses back to exactly the same Nanos. Cost is
//     (prompt−cached)×Prompt + cached×InputCacheRead +
//     completion×Completion + Request, each term rounded by
//     [money.Price.Cost] and summed in Nanos.
//   - Determinism. Token counts depend only on the request: prompt tokens
//     are ceil(runes/4)+4 per message over the text content; the answer is
//     Options.AnswerTokens lorem words, capped by max_tokens (finish_reason
//     "length"); cached tokens are half the prompt tokens when the request
//     carries prompt_cache_key or a content part with cache_control and the
//     model has an InputCacheRead price; models whose id contains "reason",
//     or requests with an enabled "reasoning" object, add reasoning tokens
//     (reasoning.max_tokens, else ceil(answer/2)) that count inside
//     completion_tokens and are not streamed as text.
//   - Bounded lifetime. Pacing and stalls wait on timers and end as soon as
//     the client goes away or the simulator closes; [Server.Close] returns
//     only after every handler has returned.
//
// What it does not do: tools, images, audio, logprobs, n>1 or real
// tokenization; requests without "model" are rejected rather than sent to
// an account default; a wrong API key and a missing one both get 401.
//
// # Stream shape
//
//	: OPENROUTER PROCESSING                      (unless NoKeepAliveComments)
//	data: {"id":"gen-…","provider":…,"model":…,"object":"chat.completion.chunk",
//	       "created":…,"choices":[{"index":0,"delta":{"role":"assistant","content":"lorem "},
//	       "finish_reason":null,"native_finish_reason":null,"logprobs":null}]}
//	…                                            (a comment again every 8 chunks)
//	data: {…"finish_reason":"stop","native_finish_reason":"stop"…}   (last content chunk)
//	data: {…"choices":[],"usage":{…}}
//	data: [DONE]
//
// Every event ends with a blank line and is flushed on its own.
//
// # Faults
//
// A fault is taken from the queue filled by [Simulator.Enqueue] (one per
// valid chat request, in order) or, when the queue is empty, from a
// directive in the request, or else, with probability Options.FaultRate,
// at random from [RandomFaults]. The kinds are documented on [FaultKind]. A
// fault at AfterTokens fires after that many content tokens, clamped so
// that it lands before the final content chunk.
//
// # Directives
//
// So that faults can be driven through a proxy that forwards bodies
// untouched, the text of the LAST message (a string, or the "text" parts of
// an array) may carry directives:
//
//	directive = "[sim:" kind { " " key "=" value } "]"
//
//	kind            keys (all optional)
//	status          code=<400..599, default 503>  retry_after=<seconds | Go duration>
//	midstream       after=<tokens>  code=<int, default 502>  string_code=<bool>
//	disconnect      after=<tokens>
//	stall           after=<tokens>  ms=<milliseconds, 0 or absent = until the client goes away>
//	malformed       after=<tokens>
//	no_usage
//	legacy_usage
//	provider_error  code=<int, default 502>  string_code=<bool>
//	tokens          n=<answer tokens, 0..100000>
//
// Examples: "[sim:status code=429 retry_after=1]", "[sim:disconnect after=5]",
// "[sim:stall after=3 ms=500]", "[sim:midstream after=4 string_code=1]",
// "[sim:tokens n=50]". Booleans are 1/0/true/false. A message may hold one
// fault directive and one tokens directive. An enqueued fault takes
// precedence over a fault directive; a tokens directive applies either way.
//
// # Ledger over HTTP
//
// [Serve] and [ListenAndServe] (the `llmmeter simulate` process) also
// answer GET /_ledger ([LedgerPath]) with [LedgerJSON]: every finished
// generation with its tokens and integer nano-dollar cost, and the number
// still in flight, so that a test in another process can reconcile.
//
// A malformed directive (unknown kind, unknown or repeated key, bad value,
// missing "]", two fault directives) is rejected with HTTP 400 in
// OpenRouter's error shape, naming the problem. Silently ignoring a typo
// would let a fault test pass without its fault.
package openroutertest
