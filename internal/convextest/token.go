package convextest

import "encoding/base64"

// Token is an identity for the test backend: base64url JSON claims in a
// JWT-shaped string, e.g. Token(`{"sub":"u1","iss":"https://clerk.test","role":"admin"}`).
// The backend does not verify it; it is a test harness.
func Token(claims string) string {
	enc := base64.RawURLEncoding.EncodeToString
	return enc([]byte(`{"alg":"none"}`)) + "." + enc([]byte(claims)) + "."
}
