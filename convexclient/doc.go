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
//     X-Llmmeter-Signature: t=<unix ms>,v1=<hex HMAC-SHA256(secret,
//     "v1\n<t>\nPOST\n<path>\n<body>")>, bound to the route (package
//     internal/signature).
//     Convex rejects unsigned, forged and stale (±5 min) requests with 401
//     and invalid payloads with 400; those become a *HTTPError.
//
// Retries are decided in one place (retryable): network errors, 429 and
// 5xx are retried with exponential backoff and jitter, bounded in count and
// by the caller's context; 4xx and function errors never are. The secret
// never appears in an error or a log line.
package convexclient
