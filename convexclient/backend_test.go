package convexclient_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"testing"
	"time"

	"llmmeter/convexclient"
	"llmmeter/internal/convextest"
	"llmmeter/internal/signature"
)

// TestAgainstTheLocalBackend runs signed HTTP actions and HTTP API calls
// against the project's real Convex functions in the local test backend.
func TestAgainstTheLocalBackend(t *testing.T) {
	site, _, secret := convextest.Start(t)
	be := struct{ URL, Secret string }{site, secret}
	cl, err := convexclient.New(convexclient.Config{URL: be.URL, SiteURL: be.URL, Secret: be.Secret})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	var ensured struct {
		UserID  string `json:"userId"`
		Created bool   `json:"created"`
	}
	if err := cl.Call(ctx, "/users/ensure", map[string]string{"externalId": "alice"}, &ensured); err != nil || !ensured.Created {
		t.Fatalf("ensure: %+v %v", ensured, err)
	}

	// A forged signature is refused with 401 and changes nothing.
	forged, _ := convexclient.New(convexclient.Config{SiteURL: be.URL, Secret: "wrong-secret-of-at-least-32-bytes", MaxRetries: -1})
	err = forged.Call(ctx, "/users/ensure", map[string]string{"externalId": "mallory"}, nil)
	var he *convexclient.HTTPError
	if !errors.As(err, &he) || he.Status != 401 {
		t.Fatalf("forged: %v", err)
	}
	// A stale signature too.
	stale, _ := convexclient.New(convexclient.Config{SiteURL: be.URL, Secret: be.Secret, MaxRetries: -1,
		Now: func() time.Time { return time.Now().Add(-6 * time.Minute) }})
	if err := stale.Call(ctx, "/users/ensure", map[string]string{"externalId": "mallory"}, nil); !errors.As(err, &he) || he.Status != 401 {
		t.Fatalf("stale: %v", err)
	}
	// The same signed bytes sent twice: the second is a replay, refused
	// with 409 "replayed" (the user is created once either way; the
	// point is that the deployment remembers the nonce).
	replay := []byte(`{"externalId":"replayed"}`)
	header := convexclient.Sign([]byte(be.Secret), time.Now(), signature.NewNonce(), "/users/ensure", replay)
	for i, want := range []int{200, 409} {
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, be.URL+"/users/ensure", bytes.NewReader(replay))
		req.Header.Set(convexclient.SignatureHeader, header)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		var e struct{ Error struct{ Code string } }
		json.Unmarshal(b, &e)
		if res.StatusCode != want || (want == 409 && e.Error.Code != "replayed") {
			t.Fatalf("send %d: HTTP %d %s, want %d", i+1, res.StatusCode, b, want)
		}
	}
	// A bad payload is a 400 naming the field.
	if err := cl.Call(ctx, "/users/ensure", map[string]any{"externalId": 5}, nil); !errors.As(err, &he) || he.Status != 400 || he.Message == "" {
		t.Fatalf("bad payload: %v", err)
	}

	// The HTTP API: admin functions refuse anonymous and non-admin callers
	// with typed function errors, and answer admins.
	args := map[string]int64{"from": 0, "to": time.Now().UnixMilli()}
	var fe *convexclient.FunctionError
	if err := cl.Query(ctx, "llmmeter:overview", args, nil); !errors.As(err, &fe) || fe.Code() != "unauthenticated" {
		t.Fatalf("anonymous: %v", err)
	}
	user := convextest.Token(`{"sub":"user_1","iss":"https://clerk.test"}`)
	if err := cl.Query(ctx, "llmmeter:overview", args, nil, convexclient.WithAuth(user)); !errors.As(err, &fe) || fe.Code() != "forbidden" {
		t.Fatalf("non-admin: %v", err)
	}
	admin := convextest.Token(`{"sub":"user_2","iss":"https://clerk.test","role":"admin"}`)
	var ov struct {
		Requests int64 `json:"requests"`
	}
	if err := cl.Query(ctx, "llmmeter:overview", map[string]int64{"from": 0, "to": 48 * 3600_000}, &ov, convexclient.WithAuth(admin)); err != nil {
		t.Fatalf("admin: %v", err)
	}
}
