package signature

import (
	"encoding/json"
	"os"
	"regexp"
	"testing"
	"time"
)

// vectors is contract/signatures.json, which convex/unit.test.ts
// verifies with the Convex side's code: both sides sign the same strings.
type vectors struct {
	Vectors []struct {
		Name, Kind, Secret, Nonce, Method, Path, Body, Signed, Header string
		T                                                             int64
	}
}

func loadVectors(t *testing.T) vectors {
	t.Helper()
	b, err := os.ReadFile("../../contract/signatures.json")
	if err != nil {
		t.Fatal(err)
	}
	var v vectors
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	if len(v.Vectors) == 0 {
		t.Fatal("no vectors")
	}
	return v
}

// TestSharedVectors: the Go signer produces exactly the strings and headers
// of the shared vectors, which the Convex verifier's test accepts.
func TestSharedVectors(t *testing.T) {
	for _, v := range loadVectors(t).Vectors {
		t.Run(v.Name, func(t *testing.T) {
			at := time.UnixMilli(v.T)
			var signed []byte
			var header string
			switch v.Kind {
			case "request":
				signed = RequestString(v.T, v.Nonce, v.Method, v.Path, []byte(v.Body))
				header = SignRequest([]byte(v.Secret), at, v.Nonce, v.Method, v.Path, []byte(v.Body))
			case "request-v1":
				// Retired: whatever the nonce, the signer never produces it.
				for _, n := range []string{"", NewNonce()} {
					if h := SignRequest([]byte(v.Secret), at, n, v.Method, v.Path, []byte(v.Body)); h == v.Header {
						t.Errorf("nonce %q: the signer produced the retired v1 header %q", n, h)
					}
				}
				return
			case "webhook":
				signed = WebhookString(v.T, []byte(v.Body))
				header = SignWebhook([]byte(v.Secret), at, []byte(v.Body))
			default:
				t.Fatalf("unknown kind %q", v.Kind)
			}
			if string(signed) != v.Signed {
				t.Errorf("signed string %q, want %q", signed, v.Signed)
			}
			if header != v.Header {
				t.Errorf("header %q, want %q", header, v.Header)
			}
		})
	}
}

// TestBoundToRoute is the defect of issue 11 §5: the MAC covered only
// "<t>.<body>", so bytes signed for one route were valid on every other.
// Now any change of method, path, label or body changes the signature.
func TestBoundToRoute(t *testing.T) {
	secret, at, body := []byte("s"), time.UnixMilli(1_700_000_000_000), []byte(`{"requestId":"r1"}`)
	const n = "0f1e2d3c4b5a69788796a5b4c3d2e1f0"
	base := SignRequest(secret, at, n, "POST", "/quotas/reserve", body)
	others := map[string]string{
		// the replay the review found: reserve bytes sent to release
		"other path": SignRequest(secret, at, n, "POST", "/quotas/release", body),
		// lease acquire → lease release
		"lease": SignRequest(secret, at, n, "POST", "/jobs/lease/release", body),
		// same path, another method
		"other method": SignRequest(secret, at, n, "GET", "/quotas/reserve", body),
		// a webhook signature over the same bytes, with the same secret
		"webhook": SignWebhook(secret, at, body),
		// another body on the same route
		"other body": SignRequest(secret, at, n, "POST", "/quotas/reserve", []byte(`{"requestId":"r2"}`)),
		// another nonce: the same request sent again is a new signature
		"other nonce": SignRequest(secret, at, NewNonce(), "POST", "/quotas/reserve", body),
	}
	for name, h := range others {
		if h == base {
			t.Errorf("%s: same signature as POST /quotas/reserve", name)
		}
	}
}

// TestNonceIsFresh: every nonce is 32 lowercase hex digits (what Convex
// accepts) and none repeats, so two sends of one request never share a
// signature that Convex would refuse as a replay.
func TestNonceIsFresh(t *testing.T) {
	seen := map[string]bool{}
	for range 1000 {
		n := NewNonce()
		if !nonceRE.MatchString(n) {
			t.Fatalf("nonce %q is not 32 lowercase hex digits", n)
		}
		if seen[n] {
			t.Fatalf("nonce %q repeated", n)
		}
		seen[n] = true
	}
}

var nonceRE = regexp.MustCompile(`^[0-9a-f]{32}$`)
