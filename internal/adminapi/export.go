package adminapi

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"llmmeter/internal/csvsafe"
	"llmmeter/internal/money"
	"llmmeter/internal/store"
)

// ExportMaxRows is the most rows one export holds; a longer view ends there
// and says so in the X-Llmmeter-Export-Truncated trailer.
const ExportMaxRows = 1_000_000

// exportPageSize is the page each llmmeter:requestLogs call reads: the
// largest the function takes, so memory stays one page whatever the count.
const exportPageSize = 200

// RequestLogColumns is the header of the request-log CSV. The portal writes
// the same file from the same pages in Convex mode
// (portal/src/pages/requests/requestLogsCsv.ts); the e2e test compares the two.
var RequestLogColumns = []string{
	"time", "requestId", "status", "statusCode", "userId", "apiKeyId", "conversationId", "messageId", "model",
	"generationId", "promptTokens", "completionTokens", "totalTokens", "cachedTokens", "reasoningTokens",
	"costUsd", "costStatus", "processingTimeMs", "timeToFirstTokenMs", "requestSize", "responseSize",
	"errorType", "errorMessage", "method", "endpoint", "userAgent", "ipAddress",
}

// exportHandler serves POST /api/export/requestLogs {"args": {filters}}:
// the request logs of llmmeter:requestLogs with those filters (and tokens and
// cost) as CSV, newest first, streamed page by page. The caller must be an
// admin, as for the function itself; bad filters answer 400 and an
// unauthenticated or non-admin caller 401/403, before any byte of CSV. A
// failure after the CSV began aborts the connection, so a client never
// takes a cut file for a whole one.
type exportHandler struct{ h *handler }

func (e exportHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		writeJSON(w, http.StatusMethodNotAllowed, map[string]any{"code": "MethodNotAllowed", "message": "use POST"})
		return
	}
	caller, ok := e.h.admit(w, r)
	if !ok {
		return
	}
	raw, ok := readBody(w, r)
	if !ok {
		return
	}
	var body struct {
		Args map[string]json.RawMessage `json:"args"`
	}
	d := json.NewDecoder(bytes.NewReader(raw))
	// A filter outside "args" ({"model": …}) would otherwise export every
	// row while looking filtered: refuse what the body does not define.
	d.DisallowUnknownFields()
	if err := d.Decode(&body); err != nil || d.More() {
		writeJSON(w, http.StatusBadRequest, map[string]any{"code": "BadRequest", "message": "body must be {\"args\": {...}}"})
		return
	}
	args := body.Args
	if args == nil {
		args = map[string]json.RawMessage{}
	}
	for _, k := range []string{"paginationOpts", "withUsage"} {
		if _, ok := args[k]; ok {
			writeJSON(w, http.StatusBadRequest, map[string]any{"code": "BadRequest", "message": "args." + k + ": set by the export"})
			return
		}
	}
	args["withUsage"] = json.RawMessage("true")

	page := func(cursor *string) (logPage, error) {
		po, _ := json.Marshal(map[string]any{"numItems": exportPageSize, "cursor": cursor})
		args["paginationOpts"] = po
		raw, _ := json.Marshal(args)
		v, err := e.h.o.Functions.Call(r.Context(), "query", "llmmeter:requestLogs", raw, caller)
		if err != nil {
			return logPage{}, err
		}
		// Through JSON, as /api/query answers it: the CSV is of the answer.
		b, err := json.Marshal(v)
		if err != nil {
			return logPage{}, err
		}
		var p logPage
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.UseNumber()
		return p, dec.Decode(&p)
	}

	first, err := page(nil)
	if err != nil {
		e.refuse(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="requests.csv"`)
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Trailer", "X-Llmmeter-Export-Rows, X-Llmmeter-Export-Truncated")
	w.WriteHeader(http.StatusOK)
	rc := http.NewResponseController(w)
	cw := csv.NewWriter(w)
	cw.Write(RequestLogColumns)
	rows, truncated := 0, false
	for p := first; ; {
		for _, row := range p.Page {
			if rows == ExportMaxRows {
				truncated = true
				break
			}
			if err := cw.Write(RequestLogRecord(row)); err != nil {
				e.abort(err)
			}
			rows++
		}
		cw.Flush()
		if err := cw.Error(); err != nil {
			e.abort(err)
		}
		rc.Flush()
		if p.IsDone || truncated {
			break
		}
		if p, err = page(&p.ContinueCursor); err != nil {
			e.abort(err)
		}
	}
	w.Header().Set("X-Llmmeter-Export-Rows", strconv.Itoa(rows))
	w.Header().Set("X-Llmmeter-Export-Truncated", strconv.FormatBool(truncated))
}

// refuse answers a failure before the CSV began, with a status a browser
// and a script can tell apart.
func (e exportHandler) refuse(w http.ResponseWriter, r *http.Request, err error) {
	var (
		fe *store.FunctionError
		ae *store.ArgumentError
	)
	switch {
	case errors.As(err, &fe):
		status := map[string]int{"unauthenticated": http.StatusUnauthorized, "forbidden": http.StatusForbidden}[fe.Code]
		if status == 0 {
			status = http.StatusBadRequest
		}
		writeJSON(w, status, map[string]any{"code": fe.Code, "message": fe.Message})
	case errors.As(err, &ae):
		writeJSON(w, http.StatusBadRequest, map[string]any{"code": "bad_request", "message": ae.Error()})
	case r.Context().Err() != nil:
		e.h.o.Log.Debug().Err(err).Msg("export abandoned by its caller")
	default:
		e.h.o.Log.Error().Err(err).Msg("export failed")
		writeJSON(w, http.StatusInternalServerError, map[string]any{"code": "InternalServerError", "message": "Server Error"})
	}
}

// abort ends a response whose CSV has begun: the connection is cut, so the
// client sees a failed download rather than a short file.
func (e exportHandler) abort(err error) {
	e.h.o.Log.Warn().Err(err).Msg("export cut short")
	panic(http.ErrAbortHandler)
}

// logPage is llmmeter:requestLogs's answer, rows as decoded JSON.
type logPage struct {
	Page           []map[string]any `json:"page"`
	IsDone         bool             `json:"isDone"`
	ContinueCursor string           `json:"continueCursor"`
}

// RequestLogRecord is one row of the request-log CSV (RequestLogColumns):
// absent fields are empty, time is UTC ISO 8601 with milliseconds, cost is
// exact USD from the usage row's nano-USD. Text cells go through
// csvsafe.Text (ids, models, user agents and error messages come from
// callers), numbers stay raw; the portal's writer does the same.
func RequestLogRecord(row map[string]any) []string {
	usage, _ := row["usage"].(map[string]any)
	str := func(m map[string]any, k string) string {
		switch v := m[k].(type) {
		case nil:
			return ""
		case string:
			return v
		case json.Number:
			return v.String()
		default:
			return fmt.Sprint(v)
		}
	}
	tsn, _ := row["timestamp"].(json.Number)
	ts, _ := tsn.Int64()
	cost := ""
	if n, ok := usage["costNanoUsd"].(json.Number); ok {
		if ns, err := n.Int64(); err == nil {
			cost = money.Nanos(ns).String()
		}
	}
	txt := func(m map[string]any, k string) string { return csvsafe.Text(str(m, k)) }
	return []string{
		time.UnixMilli(ts).UTC().Format("2006-01-02T15:04:05.000Z"), txt(row, "requestId"), txt(row, "status"), str(row, "statusCode"),
		txt(row, "userId"), txt(row, "apiKeyId"), txt(row, "conversationId"), txt(row, "messageId"), txt(row, "model"),
		txt(row, "generationId"), str(usage, "promptTokens"), str(usage, "completionTokens"), str(usage, "totalTokens"),
		str(usage, "cachedTokens"), str(usage, "reasoningTokens"), cost, txt(usage, "costStatus"),
		str(row, "processingTime"), str(row, "timeToFirstToken"), str(row, "requestSize"), str(row, "responseSize"),
		txt(row, "errorType"), txt(row, "errorMessage"), txt(row, "method"), txt(row, "endpoint"), txt(row, "userAgent"), txt(row, "ipAddress"),
	}
}
