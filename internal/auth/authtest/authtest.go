// Package authtest is a stand-in Clerk instance for tests, in the style of
// net/http/httptest: it holds RSA signing keys, signs session tokens with
// them, and serves their JWKS from an httptest server on 127.0.0.1, both as
// the Frontend API does (GET /.well-known/jwks.json, public) and as the
// Backend API does (GET /v1/jwks, with Authorization: Bearer SecretKey).
//
// Every key gets a fresh random kid, so tests never share one. The server
// counts JWKS fetches so tests can prove how often keys were refreshed.
package authtest

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math/big"
	"net/http"
	"net/http/httptest"
	"sync"
	"time"
)

// SecretKey is the Backend API secret the server accepts.
const SecretKey = "sk_test_authtest"

// Key is a signing key with its kid.
type Key struct {
	ID      string
	Private *rsa.PrivateKey
}

// NewKey generates a 2048-bit RSA key with a random kid.
func NewKey() Key {
	priv, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(fmt.Sprintf("authtest: generate key: %v", err))
	}
	var b [8]byte
	rand.Read(b[:])
	return Key{ID: "ins_test_" + hex.EncodeToString(b[:]), Private: priv}
}

// Public is the key's public half.
func (k Key) Public() *rsa.PublicKey { return &k.Private.PublicKey }

// Sign returns claims as a compact RS256 JWS with the header
// {"alg":"RS256","kid":k.ID,"typ":"JWT"}, as Clerk signs session tokens.
func (k Key) Sign(claims any) string {
	return k.SignWithHeader(map[string]any{"alg": "RS256", "kid": k.ID, "typ": "JWT"}, claims)
}

// SignWithHeader signs header and claims with k (RSASSA-PKCS1-v1_5 SHA-256)
// whatever header says, so tests can forge headers.
func (k Key) SignWithHeader(header, claims any) string {
	in := SigningInput(header, claims)
	sum := sha256.Sum256([]byte(in))
	sig, err := rsa.SignPKCS1v15(rand.Reader, k.Private, crypto.SHA256, sum[:])
	if err != nil {
		panic(fmt.Sprintf("authtest: sign: %v", err))
	}
	return in + "." + base64.RawURLEncoding.EncodeToString(sig)
}

// SigningInput is base64url(JSON(header)) + "." + base64url(JSON(claims)).
func SigningInput(header, claims any) string {
	return Segment(header) + "." + Segment(claims)
}

// Segment is base64url(JSON(v)), one part of a compact JWS.
func Segment(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("authtest: marshal: %v", err))
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// SessionClaims are the claims of a Clerk v2 session token for user sub,
// issued by iss at now: valid from 10s before now for 60s, as Clerk's are.
// Tests add or delete claims to taste.
func SessionClaims(iss, sub string, now time.Time) map[string]any {
	var b [8]byte
	rand.Read(b[:])
	return map[string]any{
		"iss": iss,
		"sub": sub,
		"sid": "sess_" + hex.EncodeToString(b[:]),
		"iat": now.Unix(),
		"nbf": now.Add(-10 * time.Second).Unix(),
		"exp": now.Add(60 * time.Second).Unix(),
		"v":   2,
		"sts": "active",
	}
}

// Server serves a JWKS of published keys.
type Server struct {
	// URL is the server's base URL, e.g. http://127.0.0.1:1234; use it as
	// the issuer.
	URL string

	srv     *httptest.Server
	mu      sync.Mutex
	keys    []Key
	fetches int
	status  int
}

// NewServer starts a server publishing keys.
func NewServer(keys ...Key) *Server {
	s := &Server{keys: keys}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/jwks.json", s.serveJWKS)
	mux.HandleFunc("GET /v1/jwks", func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer "+SecretKey {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusUnauthorized)
			w.Write([]byte(`{"errors":[{"message":"Unauthorized","long_message":"Unauthorized request","code":"authentication_invalid"}]}`))
			return
		}
		s.serveJWKS(w, r)
	})
	s.srv = httptest.NewServer(mux)
	s.URL = s.srv.URL
	return s
}

// JWKSURL is the Frontend-API-style JWKS address.
func (s *Server) JWKSURL() string { return s.URL + "/.well-known/jwks.json" }

// APIURL is the Backend-API-style base URL (its JWKS is APIURL + "/jwks").
func (s *Server) APIURL() string { return s.URL + "/v1" }

// Publish adds k to the JWKS, as a key rotation does.
func (s *Server) Publish(k Key) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.keys = append(s.keys, k)
}

// Withdraw removes the key with id kid from the JWKS.
func (s *Server) Withdraw(kid string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, k := range s.keys {
		if k.ID == kid {
			s.keys = append(s.keys[:i:i], s.keys[i+1:]...)
			return
		}
	}
}

// Fail makes every JWKS request answer status; 0 serves normally again.
func (s *Server) Fail(status int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.status = status
}

// Fetches counts JWKS requests served (or failed on purpose).
func (s *Server) Fetches() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.fetches
}

// Close shuts the server down.
func (s *Server) Close() { s.srv.Close() }

func (s *Server) serveJWKS(w http.ResponseWriter, _ *http.Request) {
	s.mu.Lock()
	s.fetches++
	status, keys := s.status, make([]map[string]string, 0, len(s.keys))
	for _, k := range s.keys {
		pub := k.Public()
		keys = append(keys, map[string]string{
			"kty": "RSA", "use": "sig", "alg": "RS256", "kid": k.ID,
			"n": base64.RawURLEncoding.EncodeToString(pub.N.Bytes()),
			"e": base64.RawURLEncoding.EncodeToString(big.NewInt(int64(pub.E)).Bytes()),
		})
	}
	s.mu.Unlock()
	if status != 0 {
		http.Error(w, http.StatusText(status), status)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]any{"keys": keys})
}
