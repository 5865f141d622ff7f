package config

import (
	"fmt"
	"strings"
	"testing"
)

func env(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func TestDefaults(t *testing.T) {
	c, err := Load(nil, env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if c.ListenAddr != "127.0.0.1:8080" || c.DataDir != "./data" || !c.Simulated() || c.ReportingTZ.String() != "UTC" {
		t.Fatalf("unexpected defaults: %+v", c)
	}
}

func TestFlagsOverrideEnv(t *testing.T) {
	c, err := Load([]string{"-listen", "127.0.0.1:9999"}, env(map[string]string{"LISTEN_ADDR": "127.0.0.1:1111", "DATA_DIR": "/tmp/x"}))
	if err != nil {
		t.Fatal(err)
	}
	if c.ListenAddr != "127.0.0.1:9999" || c.DataDir != "/tmp/x" {
		t.Fatalf("got %+v", c)
	}
}

func TestInvalidNamesEveryVariable(t *testing.T) {
	_, err := Load(nil, env(map[string]string{
		"APP_ENV":             "production", // without a key
		"LISTEN_ADDR":         "nope",
		"LOG_LEVEL":           "loud",
		"OPENROUTER_BASE_URL": "ftp://x",
		"MAX_BODY_BYTES":      "12",
		"SHUTDOWN_TIMEOUT":    "soon",
		"REPORTING_TZ":        "Mars/Olympus",
		"LOG_IP_ADDRESSES":    "some",
	}))
	if err == nil {
		t.Fatal("want error")
	}
	for _, v := range []string{"OPENROUTER_API_KEY", "LISTEN_ADDR", "LOG_LEVEL", "OPENROUTER_BASE_URL", "MAX_BODY_BYTES", "SHUTDOWN_TIMEOUT", "REPORTING_TZ", "LOG_IP_ADDRESSES"} {
		if !strings.Contains(err.Error(), v+":") {
			t.Errorf("error does not name %s: %v", v, err)
		}
	}
}

func TestSecretNeverPrints(t *testing.T) {
	c, err := Load(nil, env(map[string]string{"OPENROUTER_API_KEY": "sk-or-v1-verysecret"}))
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{fmt.Sprint(c), fmt.Sprintf("%+v", c), fmt.Sprintf("%#v", c), fmt.Sprint(c.OpenRouterAPIKey)} {
		if strings.Contains(s, "verysecret") {
			t.Fatalf("secret leaked: %s", s)
		}
	}
	if string(c.OpenRouterAPIKey) != "sk-or-v1-verysecret" {
		t.Fatal("secret value lost")
	}
}
