package openrouter

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// goldenPayloads returns the data payloads of every golden .sse file, the
// shapes OpenRouter really sends, as the seed of the differential tests.
func goldenPayloads(t testing.TB) [][]byte {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join("testdata", "*.sse"))
	more, _ := filepath.Glob(filepath.Join("testdata", "assemble", "*.sse"))
	var out [][]byte
	for _, name := range append(files, more...) {
		b, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		for line := range bytes.Lines(b) {
			line = bytes.TrimRight(line, "\r\n")
			if p, ok := bytes.CutPrefix(line, []byte("data: ")); ok && !bytes.Equal(p, doneMarker) {
				out = append(out, p)
			}
		}
	}
	if len(out) < 20 {
		t.Fatalf("only %d golden payloads", len(out))
	}
	return out
}

// scanAgainstJSON scans p into a fresh wire and decodes it with
// encoding/json into another. It fails t when the scanner accepted a
// payload encoding/json rejects or decoded it differently, and reports
// whether the scanner accepted it.
func scanAgainstJSON(t *testing.T, p []byte) bool {
	t.Helper()
	p = bytes.TrimRight(p, " \t\r\n")
	var got chunkWire
	got.reset()
	ok := scanChunk(&got, p)
	var ref chunkDecoder
	err := ref.decodeJSON(p)
	if !ok {
		return false
	}
	if err != nil {
		t.Fatalf("payload %q: scanned, but encoding/json says %v", p, err)
	}
	if !reflect.DeepEqual(got, ref.wire) {
		t.Fatalf("payload %q:\nscanned %+v\n   json %+v", p, got, ref.wire)
	}
	return true
}

// TestScanChunkGolden: every well-formed golden payload takes the fast
// path (a real shape that fell back to encoding/json would cost the CPU
// the scanner exists to save) and decodes as encoding/json decodes it.
func TestScanChunkGolden(t *testing.T) {
	for _, p := range goldenPayloads(t) {
		if !json.Valid(p) {
			continue // malformed.sse's cut line: encoding/json reports it
		}
		if !scanAgainstJSON(t, p) {
			t.Errorf("golden payload not scanned: %s", p)
		}
	}
}

// TestScanChunk pins which payloads the scanner takes and which it leaves
// to encoding/json; every taken one must decode as encoding/json does.
func TestScanChunk(t *testing.T) {
	tests := []struct {
		payload string
		scanned bool
	}{
		// Accepted: OpenRouter's shapes and JSON's corners.
		{`{}`, true},
		{` {"id":"gen-1"} `, true}, // space around the object
		{"{\n\t\"id\" : \"gen-1\" ,\r\n\"choices\" : [ ] }", true},                                            // space between every token
		{`{"choices":null}`, true},                                                                            // null empties the slice
		{`{"choices":[{"index":2,"delta":null},{"index":-1,"delta":{}}]}`, true},                              // null delta left as is; two choices
		{`{"choices":[{"index":null,"finish_reason":"stop","native_finish_reason":"end_turn"}]}`, true},       // null index left as is
		{`{"choices":[{"delta":{"role":null,"content":null,"reasoning":"r","refusal":"no"}}]}`, true},         // nulls and the text fields
		{`{"choices":[{"delta":{"content":"\u00e9\n\"q\"\\/"}}]}`, true},                                      // escapes in a value go to pstr
		{"{\"choices\":[{\"delta\":{\"content\":\"\xff\xfe\"}}]}", true},                                      // invalid UTF-8 in a value is JSON to encoding/json
		{`{"choices":[{"delta":{"tool_calls":[{"index":0,"id":"c","function":{"arguments":"{}"}}]}}]}`, true}, // tool calls
		{`{"choices":[{"delta":{"tool_calls":null,"reasoning_details":[{"type":"reasoning.text","text":"a"}]}}]}`, true},
		{`{"choices":[{"delta":{"reasoning_details":null,"annotations":[1],"images":[{"a":[]}]}}]}`, true},
		{`{"choices":[{"logprobs":{"content":[{"token":"a","logprob":-0.5e-3}]},"error":{"code":1}}]}`, true},
		{`{"created":-0,"usage":{"cost":1E+2,"prompt_tokens":"7"},"error":{"code":"x","message":"m"}}`, true},
		{`{"created":1.5e300,"system_fingerprint":null,"object":true,"model":false}`, true}, // wrong types for istr and rawInt: their own decoders skip them
		{`{"error":"upstream went away"}`, true},                                            // a bare string error
		{`{"usage":null,"error":null}`, true},
		{`{"usage":{"prompt_tokens":12,"completion_tokens":4.6,"total_tokens":null,"cost":"0.0000042","is_byok":"true",` +
			`"prompt_tokens_details":{"cached_tokens":"3","cache_write_tokens":1,"audio_tokens":-2,"x":[]},` +
			`"completion_tokens_details":{"reasoning_tokens":2,"image_tokens":1e2,"audio_tokens":9999999999999999999999},` +
			`"cost_details":{"upstream_inference_cost":null,"upstream_inference_prompt_cost":1.8e-6,"upstream_inference_completions_cost":-1},"server_tool_use":{}}}`, true}, // every usage field, leniently
		{`{"usage":{"prompt_tokens_details":null,"completion_tokens_details":null,"cost_details":null,"cost":null}}`, true},
		{`{"usage":{"cost_details":{}}}`, true}, // an empty detail object still makes CostDetails
		{`{"usage":{}}`, true},
		{`{"unknown":{"x":[1,2,{"\u0041":"b"}]},"id\u":0}`, false},                     // an unknown key with a bad escape: invalid
		{`{"service_tier":"default","choices":[{"extra":1,"delta":{"x":"y"}}]}`, true}, // unknown keys at every level
		{`{"a":[[[[]]]],"b":{"c":{"d":{}}}}`, true},
		{`{"x":` + strings.Repeat("[", maxScanDepth) + strings.Repeat("]", maxScanDepth) + `}`, true}, // as deep as the scanner follows
		{`{"unknown":{"\u0041":"b","\"":[]}}`, true},                                                  // escaped keys where the scanner does not look at them

		// Declined: what encoding/json decides differently or reports.
		{``, false},
		{`[]`, false},
		{`{"id":"a"} x`, false},               // data after the object
		{`{"id":"a"}{}`, false},               // two objects
		{`{"id":"a",}`, false},                // trailing comma
		{`{"id" "a"}`, false},                 // missing colon
		{`{"id":"a" "model":"m"}`, false},     // missing comma
		{`{"id":"a`, false},                   // cut string
		{`{"id":"a\qb"}`, false},              // bad escape
		{`{"id":"a\u12g4"}`, false},           // bad \u
		{`{"id":"a\u12"}`, false},             // cut \u
		{"{\"id\":\"a\tb\"}", false},          // control character in a string
		{`{"\u0069d":"a"}`, false},            // an escaped key: encoding/json unescapes it to "id"
		{`{"ID":"a"}`, false},                 // case folds to "id"
		{`{"choices":[{"Delta":{}}]}`, false}, // case folds to "delta"
		{`{"choices":[{"delta":{"CONTENT":"a"}}]}`, false},
		{"{\"choices\":[{\"delta\":{\"rea\u017foning\":\"r\"}}]}", false}, // non-ASCII key: the long s folds to s
		{"{\"\x80\":1}", false},        // any byte from 0x80 up in a key is left to encoding/json's folding
		{`{"id":"a","id":"b"}`, false}, // a key twice
		{`{"choices":[],"choices":[]}`, false},
		{`{"choices":[{"index":0,"index":1}]}`, false},
		{`{"choices":[{"delta":{"content":"a","content":"b"}}]}`, false},
		{`{"choices":{}}`, false},     // not an array
		{`{"choices":[null]}`, false}, // an element that is not an object
		{`{"choices":[1]}`, false},
		{`{"choices":[{"index":1.0}]}`, false},                  // not an integer
		{`{"choices":[{"index":"1"}]}`, false},                  // a string
		{`{"choices":[{"index":99999999999999999999}]}`, false}, // overflow
		{`{"choices":[{"delta":5}]}`, false},                    // delta not an object
		{`{"choices":[{"delta":{"tool_calls":{}}}]}`, false},
		{`{"choices":[{"delta":{"tool_calls":[{"index":"0"}]}}]}`, false}, // a type error inside
		{`{"usage":5}`, false},                                            // Usage's decoder fails it
		{`{"usage":{"cost":1,"cost":2}}`, false},                          // a usage key twice
		{`{"usage":{"Cost":1}}`, false},                                   // case folds to "cost"
		{`{"usage":{"cost_details":5}}`, false},                           // a detail that is not an object
		{`{"usage":{"prompt_tokens_details":{"cached_tokens":1,"cached_tokens":2}}}`, false},
		{`{"usage":{"completion_tokens_details":{"Audio_tokens":1}}}`, false},
		{`{"usage":{"prompt_tokens":1,}}`, false},
		{`{"error":5}`, false},    // StreamError's decoder fails it
		{`{"created":01}`, false}, // leading zero
		{`{"created":1.}`, false},
		{`{"created":.5}`, false},
		{`{"created":-}`, false},
		{`{"created":1e}`, false},
		{`{"created":nul}`, false},
		{`{"created":truex}`, false},
		{`{"x":[1,]}`, false},
		{`{"x":[1 2]}`, false},
		{`{"x":{"a" 1}}`, false},
		{`{"x":{"a":1,}}`, false},
		{`{"x":{1:2}}`, false},
		{`{"x":` + strings.Repeat("[", maxScanDepth+1) + strings.Repeat("]", maxScanDepth+1) + `}`, false}, // deeper than the scanner follows
	}
	for _, tt := range tests {
		if got := scanAgainstJSON(t, []byte(tt.payload)); got != tt.scanned {
			t.Errorf("payload %q: scanned=%v, want %v", tt.payload, got, tt.scanned)
		}
	}
}

// TestScanKeys: the scanner's key lists name the wire structs' JSON keys,
// in field order (usage's walk and mayFold depend on both).
func TestScanKeys(t *testing.T) {
	var c choiceWire
	for _, tt := range []struct {
		typ  reflect.Type
		keys []string
	}{
		{reflect.TypeFor[chunkWire](), chunkKeys},
		{reflect.TypeFor[choiceWire](), choiceKeys},
		{reflect.TypeOf(c.Delta), deltaKeys},
		{reflect.TypeFor[usageWire](), usageKeys},
		{reflect.TypeFor[promptDetailsWire](), promptDetailKeys},
		{reflect.TypeFor[completionDetailsWire](), completionDetailKeys},
		{reflect.TypeFor[costDetailsWire](), costDetailKeys},
	} {
		var tags []string
		for f := range tt.typ.Fields() {
			tags = append(tags, f.Tag.Get("json"))
		}
		if !reflect.DeepEqual(tags, tt.keys) {
			t.Errorf("%v: json keys %q, scanner's %q", tt.typ, tags, tt.keys)
		}
	}
}

// FuzzScanChunk is the differential test of the scanner: each line of the
// input is a payload; scanned into a fresh wire it must equal
// encoding/json's decode of it unless the scanner declined, and a stream's
// decoder (scanner first) fed the lines in turn must hand out the same
// chunks, errors and assembled body as one that decodes with encoding/json
// alone, whatever the reused strings and choices from earlier lines.
func FuzzScanChunk(f *testing.F) {
	for _, p := range goldenPayloads(f) {
		f.Add(p)
	}
	body, _ := typicalTranscript()
	f.Add(body)
	f.Add([]byte(`{"choices":[{"index":1,"delta":{"role":"assistant"}},{"index":0}]}` + "\n" +
		`{"choices":[{"delta":{"content":"a"}}],"id":"\u0067"}` + "\n" + `{"choices":[],"ID":"x"}` + "\n" +
		`{"choices":null}` + "\n" + `{"choices":[{"index":3,"delta":{"tool_calls":[{"id":"c"}]}}]}`))
	f.Fuzz(func(t *testing.T, in []byte) {
		var fast, ref chunkDecoder
		var fastAsm, refAsm Assembler
		for i, p := range bytes.Split(in, []byte("\n")) {
			if i == 16 {
				break
			}
			p = bytes.TrimPrefix(p, []byte("data: "))
			scanAgainstJSON(t, p)
			if !isObject(p) {
				continue // the stream and Add never decode these
			}
			got, gotErr := fast.decode(p)
			want, wantErr := decodeJSONOnly(&ref, p)
			if (gotErr == nil) != (wantErr == nil) || isTypeError(gotErr) != isTypeError(wantErr) {
				t.Fatalf("payload %q: error %v, encoding/json alone %v", p, gotErr, wantErr)
			}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("payload %q:\n got %+v\nwant %+v", p, got, want)
			}
			if got != nil {
				fastAsm.fold(&fast.wire)
				refAsm.fold(&ref.wire)
			}
		}
		if g, w := fastAsm.Bytes(), refAsm.Bytes(); !bytes.Equal(g, w) {
			t.Fatalf("assembled\n%s\nencoding/json alone\n%s", g, w)
		}
	})
}

// decodeJSONOnly is chunkDecoder.decode without the scanner.
func decodeJSONOnly(d *chunkDecoder, p []byte) (*StreamChunk, error) {
	err := d.decodeJSON(bytes.TrimRight(p, " \t\r\n"))
	if err != nil && !isTypeError(err) {
		return nil, err
	}
	return d.wire.chunk(&d.out), err
}
