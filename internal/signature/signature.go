// Package signature signs the service's outbound requests, to Convex's
// HTTP actions and to alert webhooks alike: the header
// X-Llmmeter-Signature: t=<unix ms>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>.
// The receiver recomputes the MAC, compares it in constant time and
// rejects timestamps too far from its clock (Convex: ±5 minutes).
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

// Sign returns the header value for body at t.
func Sign(secret []byte, t time.Time, body []byte) string {
	ts := strconv.FormatInt(t.UnixMilli(), 10)
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(ts))
	m.Write([]byte{'.'})
	m.Write(body)
	return "t=" + ts + ",v1=" + hex.EncodeToString(m.Sum(nil))
}
