package adminapi

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/rs/zerolog"

	"llmmeter/internal/auth"
	"llmmeter/internal/store"
)

// fakeFunctions answers llmmeter:echo (a query) with its args and caller, and
// fails the other paths in the ways the HTTP layer must translate.
type fakeFunctions struct{}

func (fakeFunctions) Call(_ context.Context, kind, path string, args json.RawMessage, c store.Caller) (any, error) {
	switch {
	case path == "llmmeter:echo" && kind == "query":
		return map[string]any{"args": args, "admin": c.IsAdmin, "user": c.UserID}, nil
	case path == "llmmeter:fail":
		return nil, store.Fail(store.CodeNotFound, "alertId: no such alert")
	case path == "llmmeter:badargs":
		return nil, &store.ArgumentError{Message: "Validator error for from: Expected `float64`, got `undefined`"}
	case path == "llmmeter:boom":
		return nil, errors.New("disk on fire")
	}
	return nil, store.ErrNoFunction
}

// fakeAuth accepts "llm_admin" and "llm_user"; anything else is invalid.
type fakeAuth struct{}

func (fakeAuth) Authenticate(_ context.Context, r *http.Request) (auth.Principal, error) {
	tok, _ := auth.Bearer(r)
	switch tok {
	case "llm_admin":
		return auth.Principal{UserID: "u_1", IsAdmin: true, Method: "api_key"}, nil
	case "llm_user":
		return auth.Principal{UserID: "u_2", Method: "api_key"}, nil
	}
	return auth.Principal{}, auth.ErrInvalid
}

func TestHandler(t *testing.T) {
	srv := httptest.NewServer(Handler(Options{Functions: fakeFunctions{}, Auth: fakeAuth{}, Log: zerolog.Nop()}))
	defer srv.Close()
	tests := []struct {
		name, method, route, auth, body string
		wantStatus                      int
		want                            string // JSON the answer must equal
	}{
		// Success: Convex's envelope with logLines.
		{"success", "POST", "/api/query", "llm_admin", `{"path":"llmmeter:echo","args":{"a":1},"format":"json"}`, 200,
			`{"status":"success","value":{"admin":true,"args":{"a":1},"user":"u_1"},"logLines":[]}`},
		// ConvexHttpClient's encoding: args as a one-element array.
		{"convex_encoded_json", "POST", "/api/query", "llm_user", `{"path":"llmmeter:echo","args":[{"b":2}],"format":"convex_encoded_json"}`, 200,
			`{"status":"success","value":{"admin":false,"args":{"b":2},"user":"u_2"},"logLines":[]}`},
		// Anonymous callers reach the function, which refuses them itself.
		{"anonymous", "POST", "/api/query", "", `{"path":"llmmeter:echo"}`, 200,
			`{"status":"success","value":{"admin":false,"args":null,"user":""},"logLines":[]}`},
		// A function error: 560 with errorData, errorMessage its JSON.
		{"function error", "POST", "/api/mutation", "llm_admin", `{"path":"llmmeter:fail","args":{}}`, 560,
			`{"status":"error","errorMessage":"{\"code\":\"not_found\",\"message\":\"alertId: no such alert\"}","errorData":{"code":"not_found","message":"alertId: no such alert"},"logLines":[]}`},
		// Validator failures carry no errorData, as in Convex.
		{"argument error", "POST", "/api/query", "llm_admin", `{"path":"llmmeter:badargs","args":{}}`, 560,
			"{\"status\":\"error\",\"errorMessage\":\"ArgumentValidationError: Validator error for from: Expected `float64`, got `undefined`\",\"logLines\":[]}"},
		// Unknown path, or a query called as a mutation.
		{"unknown path", "POST", "/api/mutation", "llm_admin", `{"path":"llmmeter:echo","args":{}}`, 560,
			`{"status":"error","errorMessage":"Could not find public mutation function 'llmmeter:echo'","logLines":[]}`},
		{"no actions", "POST", "/api/action", "llm_admin", `{"path":"llmmeter:echo","args":{}}`, 560,
			`{"status":"error","errorMessage":"Could not find public action function 'llmmeter:echo'","logLines":[]}`},
		{"path not a string", "POST", "/api/query", "", `{"path":5}`, 560,
			`{"status":"error","errorMessage":"path: expected string","logLines":[]}`},
		// The engine's own failure is not shown to the client.
		{"internal", "POST", "/api/query", "llm_admin", `{"path":"llmmeter:boom","args":{}}`, 560,
			`{"status":"error","errorMessage":"Server Error","logLines":[]}`},
		// Transport-level refusals, in the shape of internal/convextest/backend/server.ts.
		{"not json", "POST", "/api/query", "", `{"path":`, 400, `{"code":"BadRequest","message":"body is not a JSON object"}`},
		{"bad token", "POST", "/api/query", "llm_nope", `{"path":"llmmeter:echo"}`, 401, `{"code":"Unauthenticated","message":"invalid credential"}`},
		{"get", "GET", "/api/query", "", ``, 405, `{"code":"MethodNotAllowed","message":"use POST"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest(tt.method, srv.URL+tt.route, strings.NewReader(tt.body))
			if tt.auth != "" {
				req.Header.Set("Authorization", "Bearer "+tt.auth)
			}
			res, err := srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(res.Body)
			res.Body.Close()
			if res.StatusCode != tt.wantStatus {
				t.Fatalf("status %d, want %d: %s", res.StatusCode, tt.wantStatus, body)
			}
			var got, want any
			if err := json.Unmarshal(body, &got); err != nil {
				t.Fatalf("%v: %s", err, body)
			}
			json.Unmarshal([]byte(tt.want), &want)
			g, _ := json.Marshal(got)
			w, _ := json.Marshal(want)
			if string(g) != string(w) {
				t.Fatalf("got  %s\nwant %s", g, w)
			}
		})
	}
}
