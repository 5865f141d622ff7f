package adminapi

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rs/zerolog"

	"llmmeter/internal/store/sqlitestore"
)

// TestRoleBeforeArguments runs the real embedded functions behind the
// handler (issue 11 §6): a caller who is not an admin is refused before the
// arguments are looked at, so bad arguments tell them nothing; only an
// admin gets the validator's error. The status codes are Convex's, as
// README's "Sign-in with Clerk" documents: 560 with errorData.code for a
// refused call, 560 without errorData for bad arguments, 401 for a
// credential that does not verify.
func TestRoleBeforeArguments(t *testing.T) {
	st, err := sqlitestore.Open(context.Background(), filepath.Join(t.TempDir(), "s.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	srv := httptest.NewServer(Handler(Options{Functions: st, Auth: fakeAuth{}, Log: zerolog.Nop()}))
	defer srv.Close()

	bad := `{"path":"llmmeter:overview","args":{"from":"x","to":1}}`
	tests := []struct {
		name, token, body string
		wantStatus        int
		wantCode          string // errorData.code; "" for none
		wantMessage       string // prefix of errorMessage
	}{
		// Anonymous with bad arguments: unauthenticated, nothing about "from".
		{"anonymous", "", bad, 560, "unauthenticated", `{"code":"unauthenticated"`},
		// Signed in, not an admin, bad arguments: forbidden. Before the fix
		// this was the validator's message naming the field.
		{"non-admin", "llm_user", bad, 560, "forbidden", `{"code":"forbidden"`},
		// Not an admin, with an argument no function has: forbidden as well.
		{"non-admin, unknown argument", "llm_user", `{"path":"llmmeter:alerts","args":{"nope":1}}`, 560, "forbidden", `{"code":"forbidden"`},
		// An admin gets the validator's error, without code, as from Convex.
		{"admin", "llm_admin", bad, 560, "", "ArgumentValidationError"},
		// A credential that does not verify never reaches a function.
		{"bad credential", "llm_nope", bad, 401, "", ""},
		// An admin with good arguments.
		{"admin, good arguments", "llm_admin", `{"path":"llmmeter:alerts","args":{}}`, 200, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodPost, srv.URL+"/api/query", strings.NewReader(tt.body))
			if tt.token != "" {
				req.Header.Set("Authorization", "Bearer "+tt.token)
			}
			res, err := srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			raw, _ := io.ReadAll(res.Body)
			res.Body.Close()
			if res.StatusCode != tt.wantStatus {
				t.Fatalf("HTTP %d, want %d: %s", res.StatusCode, tt.wantStatus, raw)
			}
			if strings.Contains(string(raw), "from") && tt.wantCode != "" {
				t.Errorf("a refused caller learns about the arguments: %s", raw)
			}
			var out struct {
				ErrorMessage string          `json:"errorMessage"`
				ErrorData    json.RawMessage `json:"errorData"`
				Code         string          `json:"code"`
			}
			json.Unmarshal(raw, &out)
			var data struct{ Code string }
			json.Unmarshal(out.ErrorData, &data)
			if data.Code != tt.wantCode {
				t.Errorf("errorData.code %q, want %q: %s", data.Code, tt.wantCode, raw)
			}
			if !strings.HasPrefix(out.ErrorMessage, tt.wantMessage) {
				t.Errorf("errorMessage %q, want prefix %q", out.ErrorMessage, tt.wantMessage)
			}
			if tt.wantStatus == 401 && out.Code != "Unauthenticated" {
				t.Errorf("401 body %s", raw)
			}
		})
	}
}
