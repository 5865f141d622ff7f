package sqlitestore

import (
	"testing"
)

// TestValidatorMessages: a bad argument is refused with convex-helpers'
// message word for word (what packages/convex/src/lib/auth.ts's
// validateArgs throws on Convex), so both engines say the same. The
// expected texts are convex-helpers' own, printed by its validate() for the
// same validators and values.
func TestValidatorMessages(t *testing.T) {
	page := req("p", vObject(req("numItems", vNumber), req("cursor", vUnion(vString, vNull))))
	by := req("by", vLiteral("cost", "tokens", "requests"))
	for _, c := range []struct {
		fields []field
		args   string
		want   string
	}{
		{windowArgs, `{"to": 1}`, "Validator error for from: Expected `float64`, got `undefined`"},
		{windowArgs, `{"from": "1", "to": 1}`, "Validator error for from: Expected `number`, got `string`"},
		{[]field{by}, `{"by": "x"}`, "Validator error for by: Expected `requests`, got `\"x\"`"},
		{[]field{by}, `{"by": 5}`, "Validator error for by: Expected `requests`, got `\"5\"`"},
		{[]field{by}, `{"by": null}`, "Validator error for by: Expected `requests`, got `null`"},
		{[]field{by}, `{}`, "Validator error for by: Expected `union`, got `undefined`"},
		{[]field{req("userIds", vArray(vString))}, `{"userIds": ["a", 2]}`, "Validator error for userIds[1]: Expected `string`, got `number`"},
		{[]field{page}, `{"p": {"numItems": 1, "cursor": 3}}`, "Validator error for p.cursor: Expected `null`, got `number`"},
		{[]field{page}, `{"p": {"numItems": 1}}`, "Validator error for p.cursor: Expected `union`, got `undefined`"},
		{[]field{page}, `{"p": []}`, "Validator error for p: Expected `Array`, got `object`"},
		{[]field{req("q", vString)}, `{"q": "a", "zz": 1}`, "Validator error for zz: Expected `nothing`, got `number`"},
		{[]field{opt("q", vString)}, `{"q": null}`, "Validator error for q: Expected `string`, got `null`"},
		{[]field{req("q", vBool)}, `{"q": "true"}`, "Validator error for q: Expected `boolean`, got `string`"},
		{nil, `[]`, "Validator error: Expected `Array`, got `object`"},
		{nil, `5`, "Validator error: Expected `object`, got `number`"},
	} {
		_, err := parseArgs([]byte(c.args), c.fields)
		if err == nil || err.Error() != "ArgumentValidationError: "+c.want {
			t.Errorf("%s: %v\n  want %s", c.args, err, c.want)
		}
	}
}
