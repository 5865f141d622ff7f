// Package convexclient is the Go client of the project's Convex backend.
//
// It speaks two of Convex's surfaces:
//
//   - The HTTP API of the deployment (the .convex.cloud address):
//     POST /api/query, /api/mutation and /api/action with
//     {"path","args","format":"json"}. A function that throws answers
//     status "error" (HTTP 200 or 560); that becomes a *FunctionError with
//     Convex's errorMessage and errorData, distinct from transport errors.
//     An optional bearer token (a Clerk session JWT) sets the identity.
//   - The project's own HTTP actions (the .convex.site address), which the
//     Go service alone calls. Every request is signed: the header
//     X-Llmmeter-Signature: t=<unix ms>,n=<nonce>,v2=<hex HMAC-SHA256(secret,
//     "v2\n<t>\n<nonce>\nPOST\n<path>\n<body>")>, bound to the route and
//     to a random nonce (package internal/signature). Convex rejects
//     unsigned, forged and stale (±5 min) requests with 401, a nonce it
//     has already accepted on a route that changes state (a replay) with 409 and invalid payloads with
//     400; those become a *HTTPError. The secret must be at least 32 bytes.
//
// Retries follow the service's one policy (internal/retry): network
// errors, 408, 429 and 5xx are retried with jittered exponential backoff,
// honouring Retry-After up to a bound, limited in count and by the
// caller's context; other 4xx, 560 and function errors never are, nor is
// an attempt that hit Config.Timeout (the mutation may still be running).
// Each attempt is signed afresh (new timestamp and nonce). The secret never appears in an error or
// a log line.
package convexclient
