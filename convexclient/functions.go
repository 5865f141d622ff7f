package convexclient

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	"github.com/go-resty/resty/v2"

	"llmmeter/internal/retry"
)

// FunctionError is a Convex function that threw: ConvexError data arrives
// in Data (e.g. {"code":"forbidden","message":...}).
type FunctionError struct {
	Path    string
	Message string
	Data    json.RawMessage
}

func (e *FunctionError) Error() string {
	return fmt.Sprintf("convex %s: %s", e.Path, e.Message)
}

// Code is Data's "code" field, when the function threw ConvexError({code}).
func (e *FunctionError) Code() string {
	var v struct {
		Code string `json:"code"`
	}
	json.Unmarshal(e.Data, &v)
	return v.Code
}

// CallOption adjusts one HTTP API call.
type CallOption func(*callOpts)

type callOpts struct{ token string }

// WithAuth sets the identity of the call (a Clerk session JWT).
func WithAuth(token string) CallOption { return func(o *callOpts) { o.token = token } }

// Query runs a public query function such as "llmmeter:overview".
func (c *Client) Query(ctx context.Context, path string, args, out any, opts ...CallOption) error {
	return c.function(ctx, "query", path, args, out, opts)
}

// Mutation runs a public mutation function.
func (c *Client) Mutation(ctx context.Context, path string, args, out any, opts ...CallOption) error {
	return c.function(ctx, "mutation", path, args, out, opts)
}

// Action runs a public action function.
func (c *Client) Action(ctx context.Context, path string, args, out any, opts ...CallOption) error {
	return c.function(ctx, "action", path, args, out, opts)
}

// apiResponse is Convex's HTTP API answer.
type apiResponse struct {
	Status       string          `json:"status"`
	Value        json.RawMessage `json:"value"`
	ErrorMessage string          `json:"errorMessage"`
	ErrorData    json.RawMessage `json:"errorData"`
}

func (c *Client) function(ctx context.Context, kind, path string, args, out any, opts []CallOption) error {
	if c.api == "" {
		return errors.New("convexclient: no URL configured")
	}
	var o callOpts
	for _, f := range opts {
		f(&o)
	}
	if args == nil {
		args = map[string]any{}
	}
	send := func(ctx context.Context) (*resty.Response, error) {
		req := c.http.R().SetContext(ctx).SetBody(map[string]any{"path": path, "args": args, "format": "json"})
		if o.token != "" {
			req.SetAuthToken(o.token)
		}
		res, err := req.Post(c.api + "/api/" + kind)
		if err != nil {
			return nil, fmt.Errorf("convexclient: %s %s: %w", kind, path, err)
		}
		return res, nil
	}
	var ar apiResponse
	err := c.do(ctx, send, func(res *resty.Response) error {
		ar = apiResponse{}
		if jerr := json.Unmarshal(res.Body(), &ar); jerr != nil || ar.Status == "" {
			return &HTTPError{Route: "/api/" + kind, Status: res.StatusCode(), Message: truncate(string(res.Body()), 300)}
		}
		switch {
		case ar.Status == "error":
			return &FunctionError{Path: path, Message: ar.ErrorMessage, Data: ar.ErrorData}
		case res.StatusCode() != http.StatusOK || ar.Status != "success":
			return &HTTPError{Route: "/api/" + kind, Status: res.StatusCode(), Message: "unexpected status " + ar.Status}
		}
		return nil
	})
	if errors.Is(err, retry.ErrInterrupted) {
		return fmt.Errorf("convexclient: %s %s: %w", kind, path, err)
	}
	if err != nil {
		return err
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(ar.Value, out); err != nil {
		return fmt.Errorf("convexclient: decode %s value: %w", path, err)
	}
	return nil
}
