package jobs_test

import (
	"testing"
	"time"

	"llmmeter/internal/signature"
	"llmmeter/jobs"
)

// TestWebhookSignatureHasItsOwnLabel (issue 11 §5): a webhook used to be
// signed exactly as a Convex request, so a receiver holding a webhook
// signature (and, with ALERT_WEBHOOK_SECRET = INGEST_SECRET, the same key)
// had bytes that /ingest accepted. Now the signed string starts "webhook".
func TestWebhookSignatureHasItsOwnLabel(t *testing.T) {
	secret, at, body := []byte("same-secret"), time.UnixMilli(1_700_000_000_123), []byte(`{"usage":[]}`)
	got := jobs.SignWebhook(secret, at, body)
	if want := signature.SignWebhook(secret, at, body); got != want {
		t.Fatalf("SignWebhook = %q, want the webhook form %q", got, want)
	}
	for _, path := range []string{"/ingest", "/jobs/alerts/notified"} {
		if got == signature.SignRequest(secret, at, signature.NewNonce(), "POST", path, body) {
			t.Errorf("a webhook signature passes as a signed POST %s", path)
		}
	}
}
