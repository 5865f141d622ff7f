package openroutertest

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// directives are the [sim:…] instructions found in a request's last
// message; the grammar is in the package doc.
type directives struct {
	fault  *Fault
	tokens *int // answer length
}

const maxDirectiveTokens = 100000

// keysByKind lists the keys each directive kind accepts.
var keysByKind = map[string][]string{
	string(FaultStatus):        {"code", "retry_after"},
	string(FaultMidStream):     {"after", "code", "string_code"},
	string(FaultDisconnect):    {"after"},
	string(FaultStall):         {"after", "ms"},
	string(FaultMalformed):     {"after"},
	string(FaultNoUsage):       nil,
	string(FaultLegacyUsage):   nil,
	string(FaultProviderError): {"code", "string_code"},
	"tokens":                   {"n"},
}

// parseDirectives finds every "[sim:…]" in text. Any malformed directive
// is an error, so that a typo cannot silently turn a fault test into a
// passing normal request.
func parseDirectives(text string) (directives, error) {
	var d directives
	const open = "[sim:"
	for {
		i := strings.Index(text, open)
		if i < 0 {
			return d, nil
		}
		text = text[i+len(open):]
		j := strings.IndexByte(text, ']')
		if j < 0 {
			return d, fmt.Errorf("unterminated %s directive", open)
		}
		if err := d.add(text[:j]); err != nil {
			return d, fmt.Errorf("[sim:%s]: %w", text[:j], err)
		}
		text = text[j+1:]
	}
}

func (d *directives) add(body string) error {
	fields := strings.Fields(body)
	if len(fields) == 0 {
		return fmt.Errorf("missing kind")
	}
	kind := fields[0]
	allowed, ok := keysByKind[kind]
	if !ok {
		return fmt.Errorf("unknown kind %q", kind)
	}
	params := map[string]string{}
	for _, kv := range fields[1:] {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" || v == "" {
			return fmt.Errorf("%q is not key=value", kv)
		}
		if !slices.Contains(allowed, k) {
			return fmt.Errorf("kind %s takes no key %q", kind, k)
		}
		if _, dup := params[k]; dup {
			return fmt.Errorf("key %q repeated", k)
		}
		params[k] = v
	}
	if kind == "tokens" {
		if d.tokens != nil {
			return fmt.Errorf("second tokens directive")
		}
		n, err := intParam(params, "n", 0, maxDirectiveTokens)
		if err != nil {
			return err
		}
		if _, ok := params["n"]; !ok {
			return fmt.Errorf("tokens needs n=")
		}
		d.tokens = &n
		return nil
	}
	if d.fault != nil {
		return fmt.Errorf("second fault directive")
	}
	f := Fault{Kind: FaultKind(kind)}
	var err error
	if f.AfterTokens, err = intParam(params, "after", 0, maxDirectiveTokens); err != nil {
		return err
	}
	if f.Status, err = intParam(params, "code", 400, 599); err != nil {
		return err
	}
	ms, err := intParam(params, "ms", 0, 24*3600*1000)
	if err != nil {
		return err
	}
	f.Stall = time.Duration(ms) * time.Millisecond
	if v, ok := params["string_code"]; ok {
		if f.StringCode, err = strconv.ParseBool(v); err != nil {
			return fmt.Errorf("string_code=%q is not a boolean", v)
		}
	}
	if v, ok := params["retry_after"]; ok {
		if f.RetryAfter, err = parseSeconds(v); err != nil {
			return err
		}
	}
	d.fault = &f
	return nil
}

// intParam returns params[key] as an int in [lo, hi], or 0 when absent.
func intParam(params map[string]string, key string, lo, hi int) (int, error) {
	v, ok := params[key]
	if !ok {
		return 0, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < lo || n > hi {
		return 0, fmt.Errorf("%s=%q is not an integer in %d..%d", key, v, lo, hi)
	}
	return n, nil
}

// parseSeconds accepts whole seconds ("2") or a Go duration ("1500ms").
func parseSeconds(v string) (time.Duration, error) {
	if n, err := strconv.Atoi(v); err == nil && n >= 0 {
		return time.Duration(n) * time.Second, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < 0 {
		return 0, fmt.Errorf("retry_after=%q is neither seconds nor a duration", v)
	}
	return d, nil
}
