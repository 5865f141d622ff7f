// Package signature signs the service's outbound requests, to Convex's
// HTTP actions and to alert webhooks. A request to Convex carries
//
//	X-Llmmeter-Signature: t=<unix ms>,n=<nonce>,v2=<hex HMAC-SHA256(secret, signed string)>
//
// and an alert webhook
//
//	X-Llmmeter-Signature: t=<unix ms>,v1=<hex HMAC-SHA256(secret, signed string)>
//
// The signed string starts with a label naming what the signature is for,
// and its fields are joined by "\n" (a newline can be neither in a label,
// a timestamp, a nonce, a method nor a URL path, so no two requests share
// a string):
//
//	request (Convex HTTP actions): "v2\n<t>\n<nonce>\n<METHOD>\n<path>\n<body>"
//	alert webhook:                 "webhook\n<t>\n<body>"
//
// The request form binds the method and the URL path, so bytes signed for
// /quotas/reserve cannot be replayed to /quotas/release, and a random
// nonce (NewNonce, 128 bits, fresh for every attempt), which Convex's
// routes that change state accept once: the same signed request sent again
// within the ±5 minute timestamp window is refused (409). The webhook form has its own label,
// so a webhook's signature never passes as a request's (and the other way
// round), even when both use the same secret. The receiver recomputes the
// MAC, compares it in constant time and rejects timestamps too far from
// its clock. The Convex side is packages/convex/src/lib/signature.ts; both
// are held to contract/signatures.json.
package signature

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"strconv"
	"time"
)

// Header is the header that carries the signature.
const Header = "X-Llmmeter-Signature"

// The labels that open the signed strings. "v1", the request form without
// a nonce, is no longer signed nor accepted.
const (
	LabelRequest = "v2"
	LabelWebhook = "webhook"
)

// MinSecretBytes is the shortest INGEST_SECRET either side accepts: an
// HMAC key shorter than 256 bits is a guessable one.
const MinSecretBytes = 32

// NewNonce returns a fresh random nonce: 32 lowercase hex digits.
func NewNonce() string {
	var b [16]byte
	rand.Read(b[:]) // never fails (crypto/rand)
	return hex.EncodeToString(b[:])
}

// RequestString is the string a request signature covers at t (unix ms)
// with nonce: "v2\n<t>\n<nonce>\n<METHOD>\n<path>\n<body>". path is the URL
// path as sent (escaped, no query), e.g. "/quotas/reserve".
func RequestString(t int64, nonce, method, path string, body []byte) []byte {
	return join(LabelRequest, strconv.FormatInt(t, 10), nonce, method, path, string(body))
}

// WebhookString is the string a webhook signature covers at t (unix ms):
// "webhook\n<t>\n<body>".
func WebhookString(t int64, body []byte) []byte {
	return join(LabelWebhook, strconv.FormatInt(t, 10), string(body))
}

// SignRequest returns the header value for a request with method to path
// carrying body, at t with nonce (NewNonce; never reused).
func SignRequest(secret []byte, t time.Time, nonce, method, path string, body []byte) string {
	ms := t.UnixMilli()
	ts := strconv.FormatInt(ms, 10)
	return "t=" + ts + ",n=" + nonce + ",v2=" + mac(secret, RequestString(ms, nonce, method, path, body))
}

// SignWebhook returns the header value for an alert webhook's body at t.
func SignWebhook(secret []byte, t time.Time, body []byte) string {
	ms := t.UnixMilli()
	return "t=" + strconv.FormatInt(ms, 10) + ",v1=" + mac(secret, WebhookString(ms, body))
}

func mac(secret, signed []byte) string {
	m := hmac.New(sha256.New, secret)
	m.Write(signed)
	return hex.EncodeToString(m.Sum(nil))
}

func join(fields ...string) []byte {
	n := len(fields) - 1
	for _, f := range fields {
		n += len(f)
	}
	out := make([]byte, 0, n)
	for i, f := range fields {
		if i > 0 {
			out = append(out, '\n')
		}
		out = append(out, f...)
	}
	return out
}
