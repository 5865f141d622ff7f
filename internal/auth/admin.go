package auth

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// ErrForbidden is for a caller who is authenticated but not allowed to do
// what it asked (403, where ErrMissing and ErrInvalid are 401).
var ErrForbidden = errors.New("not allowed")

// RequireAdmin returns ErrForbidden unless p is an admin.
func RequireAdmin(p Principal) error {
	if !p.IsAdmin {
		return ErrForbidden
	}
	return nil
}

// DefaultAdminClaim is the session-token claim that marks an admin: a flat
// custom claim "role" equal to "admin", set in Clerk's session token from
// the user's public metadata.
const DefaultAdminClaim = "role=admin"

// AdminClaim is a custom claim whose value makes a Clerk user an admin.
type AdminClaim struct {
	Name  string // a top-level claim, e.g. "role"
	Value string // e.g. "admin"
}

// ParseAdminClaim parses the form "claim=value", e.g. "role=admin".
func ParseAdminClaim(s string) (AdminClaim, error) {
	name, value, ok := strings.Cut(strings.TrimSpace(s), "=")
	name, value = strings.TrimSpace(name), strings.TrimSpace(value)
	if !ok || name == "" || value == "" {
		return AdminClaim{}, fmt.Errorf("want claim=value, such as %q, not %q", DefaultAdminClaim, s)
	}
	return AdminClaim{Name: name, Value: value}, nil
}

func (c AdminClaim) String() string { return c.Name + "=" + c.Value }

// AdminRule is the one rule that makes the user of a verified token an
// admin. packages/convex/src/lib/auth.ts (isAdmin) applies the same rule, from the same
// settings (ADMIN_ROLE_CLAIM, CLERK_ORG_ADMIN), and both are held to the
// corpus contract/identities.json. A user is an admin when
//
//   - the claim Claim.Name is the string Claim.Value, or an array holding
//     that string, or a boolean whose text is Claim.Value ("is_admin=true"
//     matches true); case matters, and numbers, objects and null never
//     match; or
//   - OrgAdmin is set and the active organization role is admin: o.rol is
//     "admin" (Clerk v2 session tokens) or org_role is "org:admin" (v1).
type AdminRule struct {
	Claim    AdminClaim
	OrgAdmin bool
}

// IsAdmin applies the rule to a token's claims (as raw JSON values).
func (r AdminRule) IsAdmin(claims map[string]json.RawMessage) bool {
	if r.Claim.match(claims[r.Claim.Name]) {
		return true
	}
	if !r.OrgAdmin {
		return false
	}
	var o struct {
		Rol *string `json:"rol"`
	}
	if raw := bytes.TrimSpace(claims["o"]); len(raw) > 0 && raw[0] == '{' && json.Unmarshal(raw, &o) == nil && o.Rol != nil && *o.Rol == "admin" {
		return true
	}
	return stringClaim(claims, "org_role") == "org:admin"
}

// match reports whether raw, the JSON value of the claim, grants the role:
// a string equal to Value, an array holding such a string, or a boolean
// whose JSON text is Value.
func (c AdminClaim) match(raw json.RawMessage) bool {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return false
	}
	switch raw[0] {
	case '"':
		var s string
		return json.Unmarshal(raw, &s) == nil && s == c.Value
	case '[':
		var list []json.RawMessage
		if json.Unmarshal(raw, &list) != nil {
			return false
		}
		for _, v := range list {
			var s string
			if json.Unmarshal(v, &s) == nil && s == c.Value {
				return true
			}
		}
		return false
	case 't', 'f': // true, false
		return string(raw) == c.Value
	}
	return false // numbers, objects and null never match
}
