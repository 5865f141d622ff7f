package auth

import (
	"encoding/json"
	"errors"
	"os"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// identityCorpus is contract/identities.json: the one admin rule, which
// convex/identities.test.ts holds the Convex backend to as well.
type identityCorpus struct {
	Cases []struct {
		Name   string
		Env    map[string]string
		Claims map[string]any
		Expect string // admin | user | refused
	}
}

// TestIdentityCorpus runs every case through the real verifier: a token
// signed by the test Clerk instance with the case's claims, authenticated
// with ClerkOptions built from the case's settings as internal/config
// reads them. Before issue 11 §6, role:["admin"] and org admins differed
// from Convex and a token for another audience became an admin here.
func TestIdentityCorpus(t *testing.T) {
	b, err := os.ReadFile("../../contract/identities.json")
	if err != nil {
		t.Fatal(err)
	}
	var corpus identityCorpus
	if err := json.Unmarshal(b, &corpus); err != nil {
		t.Fatal(err)
	}
	if len(corpus.Cases) == 0 {
		t.Fatal("no cases")
	}
	envs := map[string]*clerkEnv{} // one Clerk instance per distinct setting
	for _, c := range corpus.Cases {
		key := settingsKey(c.Env)
		e := envs[key]
		if e == nil {
			// Made with the parent t, so that it lives for every case.
			e = newClerkEnv(t, func(o *ClerkOptions) {
				o.AdminClaim = c.Env["ADMIN_ROLE_CLAIM"]
				o.Audience = c.Env["CLERK_AUDIENCE"]
				if v, ok := c.Env["CLERK_ORG_ADMIN"]; ok {
					b, err := strconv.ParseBool(v)
					if err != nil {
						t.Fatalf("CLERK_ORG_ADMIN %q", v)
					}
					o.OrgAdmin = b
				}
			})
			envs[key] = e
		}
		t.Run(c.Name, func(t *testing.T) {
			p, err := e.auth(e.token(func(m map[string]any) {
				for k, v := range c.Claims {
					m[k] = v
				}
			}))
			got := "user"
			switch {
			case errors.Is(err, ErrInvalid):
				got = "refused"
			case err != nil:
				t.Fatal(err)
			case p.IsAdmin:
				got = "admin"
			}
			if got != c.Expect {
				t.Fatalf("%s, want %s (err %v)", got, c.Expect, err)
			}
		})
	}
}

func settingsKey(env map[string]string) string {
	var parts []string
	for k, v := range env {
		parts = append(parts, k+"="+v)
	}
	sort.Strings(parts)
	return strings.Join(parts, "\n")
}
