// Package signature signs the service's outbound requests, to Convex's
// HTTP actions and to alert webhooks, in the header
//
//	X-Llmmeter-Signature: t=<unix ms>,v1=<hex HMAC-SHA256(secret, signed string)>
//
// The signed string starts with a label naming what the signature is for,
// and its fields are joined by "\n" (a newline can be neither in a label,
// a timestamp, a method nor a URL path, so no two requests share a string):
//
//	request (Convex HTTP actions): "v1\n<t>\n<METHOD>\n<path>\n<body>"
//	alert webhook:                 "webhook\n<t>\n<body>"
//
// The request form binds the method and the URL path, so bytes signed for
// /quotas/reserve cannot be replayed to /quotas/release; the webhook form
// has its own label, so a webhook's signature never passes as a request's
// (and the other way round), even when both use the same secret. The
// receiver recomputes the MAC, compares it in constant time and rejects
// timestamps too far from its clock (Convex: ±5 minutes). The Convex side
// is packages/convex/src/lib/signature.ts; both are held to contract/signatures.json.
package signature

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"strconv"
	"time"
)

// Header is the header that carries the signature.
const Header = "X-Llmmeter-Signature"

// The labels that open the signed strings.
const (
	LabelRequest = "v1"
	LabelWebhook = "webhook"
)

// RequestString is the string a request signature covers at t (unix ms):
// "v1\n<t>\n<METHOD>\n<path>\n<body>". path is the URL path as sent
// (escaped, no query), e.g. "/quotas/reserve".
func RequestString(t int64, method, path string, body []byte) []byte {
	return join(LabelRequest, strconv.FormatInt(t, 10), method, path, string(body))
}

// WebhookString is the string a webhook signature covers at t (unix ms):
// "webhook\n<t>\n<body>".
func WebhookString(t int64, body []byte) []byte {
	return join(LabelWebhook, strconv.FormatInt(t, 10), string(body))
}

// SignRequest returns the header value for a request with method to path
// carrying body, at t.
func SignRequest(secret []byte, t time.Time, method, path string, body []byte) string {
	ms := t.UnixMilli()
	return header(secret, ms, RequestString(ms, method, path, body))
}

// SignWebhook returns the header value for an alert webhook's body at t.
func SignWebhook(secret []byte, t time.Time, body []byte) string {
	ms := t.UnixMilli()
	return header(secret, ms, WebhookString(ms, body))
}

func header(secret []byte, ms int64, signed []byte) string {
	m := hmac.New(sha256.New, secret)
	m.Write(signed)
	return "t=" + strconv.FormatInt(ms, 10) + ",v1=" + hex.EncodeToString(m.Sum(nil))
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
