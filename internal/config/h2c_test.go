package config

import (
	"strings"
	"testing"
)

// TestOpenRouterH2C: off by default; on for an http:// base URL; refused,
// naming the variable, with an https one (TLS negotiates HTTP/2 there) or a
// value that is not a boolean.
func TestOpenRouterH2C(t *testing.T) {
	cases := []struct {
		name, h2c, base string
		want, ok        bool
	}{
		{"default off", "", "", false, true},
		{"on for the simulator", "true", "http://127.0.0.1:8090/api/v1", true, true},
		{"off for the simulator", "false", "http://127.0.0.1:8090/api/v1", false, true},
		{"on for https", "true", "https://openrouter.ai/api/v1", false, false},
		{"on for the default (https) base", "true", "", false, false},
		{"not a boolean", "yes please", "http://127.0.0.1:8090/api/v1", false, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			vars := map[string]string{"OPENROUTER_H2C": c.h2c}
			if c.base != "" {
				vars["OPENROUTER_BASE_URL"] = c.base
			}
			cfg, err := Load(nil, env(vars))
			if !c.ok {
				if err == nil || !strings.Contains(err.Error(), "OPENROUTER_H2C:") {
					t.Fatalf("want an error naming OPENROUTER_H2C, got %v", err)
				}
				return
			}
			if err != nil || cfg.OpenRouterH2C != c.want {
				t.Fatalf("OpenRouterH2C %v, err %v; want %v", cfg.OpenRouterH2C, err, c.want)
			}
		})
	}
}
