package sqlitestore

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
)

var requestLogsArgs = []field{
	req("paginationOpts", vPaginationOpts),
	opt("status", vRequestStatus),
	opt("userId", vString),
	opt("modelSlug", vString),
	opt("apiKeyId", vString),
	opt("conversationId", vString),
	opt("requestId", vString),
	opt("generationId", vString),
	opt("from", vNumber),
	opt("to", vNumber),
	opt("withUsage", vBool),
}

// requestLogScanRows is how many rows one page reads at most when some
// filter is not part of its index range (REQUEST_LOG_SCAN_ROWS in
// packages/convex/src/adminRequestLogs.ts, which has the index plan).
const requestLogScanRows = 2000

// logPos is a position in the order of llmmeter:requestLogs (timestamp
// descending, then insertion order descending): rows strictly after it come
// next. End is the position after every row.
type logPos struct {
	T   int64  `json:"t"`
	R   int64  `json:"r"`
	End bool   `json:"e,omitempty"`
	F   string `json:"f"` // fingerprint of the filters the cursor belongs to
}

// cursorCheck is not a secret: the checksum catches corrupted or hand-made
// cursors. A cursor only names a position inside the caller's own filters,
// so a forged one can reveal nothing the filters would not.
const cursorCheck = "llmmeter/requestLogs/v1"

func checksum(payload string) string {
	h := sha256.Sum256([]byte(cursorCheck + "\x00" + payload))
	return hex.EncodeToString(h[:8])
}

func encodeCursor(p logPos) string {
	b, _ := json.Marshal(p)
	payload := base64.RawURLEncoding.EncodeToString(b)
	return payload + "." + checksum(payload)
}

func decodeCursor(s, fingerprint, field string) (logPos, error) {
	bad := badRequest("%s: invalid cursor", field)
	payload, sum, ok := strings.Cut(s, ".")
	if !ok || checksum(payload) != sum {
		return logPos{}, bad
	}
	b, err := base64.RawURLEncoding.DecodeString(payload)
	var p logPos
	if err != nil || json.Unmarshal(b, &p) != nil || p.F != fingerprint {
		return logPos{}, bad
	}
	return p, nil
}

type logFilter struct {
	status, userID, model                      string
	apiKeyID, conversationID, requestID, genID string
	from, to                                   *float64
}

func (f logFilter) fingerprint() string {
	num := func(p *float64) string {
		if p == nil {
			return "-"
		}
		return fmt.Sprint(*p)
	}
	parts := []string{f.status, f.userID, f.model, num(f.from), num(f.to)}
	// Appended only when set, so cursors of the older filters stay valid.
	if f.apiKeyID != "" || f.conversationID != "" || f.requestID != "" || f.genID != "" {
		parts = append(parts, f.apiKeyID, f.conversationID, f.requestID, f.genID)
	}
	h := sha256.Sum256([]byte(strings.Join(parts, "\x00")))
	return hex.EncodeToString(h[:6])
}

// logRange is the index range a filter reads (the same choice as Convex's
// adminRequestLogs.ts range): SQL over the index's columns, and the
// filters it does not hold, checked on each row read.
type logRange struct {
	where    string
	vals     []any
	residual func(r logRow) bool
}

// logRow is what a residual filter looks at.
type logRow struct {
	ts                                            int64
	status                                        string
	user, model, apiKey, conversation, generation sql.NullString
}

func (f logFilter) plan() logRange {
	var (
		conds []string
		vals  []any
		holds = map[string]bool{}
	)
	eq := func(key, col, v string) {
		conds, vals, holds[key] = append(conds, col+" = ?"), append(vals, v), true
	}
	switch {
	case f.requestID != "":
		eq("requestId", "requestId", f.requestID)
	case f.genID != "":
		eq("generationId", "generationId", f.genID)
	case f.conversationID != "":
		eq("conversationId", "conversationId", f.conversationID)
		holds["time"] = true
	case f.apiKeyID != "":
		eq("apiKeyId", "apiKeyId", f.apiKeyID)
		if f.status != "" {
			eq("status", "status", f.status)
		}
		holds["time"] = true
	default:
		if f.userID != "" {
			eq("userId", "userId", f.userID)
		}
		if f.model != "" {
			eq("model", "model", f.model)
		}
		if f.status != "" {
			eq("status", "status", f.status)
		}
		holds["time"] = true
	}
	if holds["time"] {
		if f.from != nil {
			conds, vals = append(conds, "timestamp >= ?"), append(vals, *f.from)
		}
		if f.to != nil {
			conds, vals = append(conds, "timestamp < ?"), append(vals, *f.to)
		}
	}
	var checks []func(r logRow) bool
	want := func(key, v string, get func(r logRow) sql.NullString) {
		if v != "" && !holds[key] {
			checks = append(checks, func(r logRow) bool { g := get(r); return g.Valid && g.String == v })
		}
	}
	if f.status != "" && !holds["status"] {
		checks = append(checks, func(r logRow) bool { return r.status == f.status })
	}
	want("userId", f.userID, func(r logRow) sql.NullString { return r.user })
	want("model", f.model, func(r logRow) sql.NullString { return r.model })
	want("apiKeyId", f.apiKeyID, func(r logRow) sql.NullString { return r.apiKey })
	want("conversationId", f.conversationID, func(r logRow) sql.NullString { return r.conversation })
	want("generationId", f.genID, func(r logRow) sql.NullString { return r.generation })
	if !holds["time"] && (f.from != nil || f.to != nil) {
		checks = append(checks, func(r logRow) bool {
			return (f.from == nil || float64(r.ts) >= *f.from) && (f.to == nil || float64(r.ts) < *f.to)
		})
	}
	lr := logRange{where: strings.Join(conds, " AND "), vals: vals}
	if len(checks) > 0 {
		lr.residual = func(r logRow) bool {
			for _, c := range checks {
				if !c(r) {
					return false
				}
			}
			return true
		}
	}
	return lr
}

// requestLogs pages through request-log rows newest first (Convex's
// pagination result). isDone is true when no row follows the page.
func requestLogs(ctx context.Context, s *Store, q querier, a args) (any, error) {
	po := a["paginationOpts"].(args)
	n, _ := po.num("numItems")
	if !isSafeInt(n) || n < 1 || n > maxPageSize {
		return nil, badRequest("paginationOpts.numItems: expected integer in [1, %d]", maxPageSize)
	}
	var f logFilter
	if v, ok := a.num("from"); ok {
		f.from = &v
	}
	if v, ok := a.num("to"); ok {
		f.to = &v
	}
	if f.from != nil && f.to != nil && *f.from > *f.to {
		return nil, badRequest("to: must not be before from")
	}
	for _, k := range []string{"conversationId", "requestId", "generationId"} {
		if v, ok := a.str(k); ok && v == "" {
			return nil, badRequest("%s: must not be empty", k)
		}
	}
	if raw, ok := a.str("userId"); ok {
		id, err := idOf("users", raw, "userId")
		if err != nil {
			return nil, err
		}
		f.userID = id
	}
	if raw, ok := a.str("apiKeyId"); ok {
		id, err := idOf("apiKeys", raw, "apiKeyId")
		if err != nil {
			return nil, err
		}
		f.apiKeyID = id
	}
	f.status, _ = a.str("status")
	f.conversationID, _ = a.str("conversationId")
	f.requestID, _ = a.str("requestId")
	f.genID, _ = a.str("generationId")
	model, hasModel := a.str("modelSlug")
	f.model = model
	withUsage, _ := a.boolean("withUsage")
	fp := f.fingerprint()

	page := []map[string]any{}
	result := func(isDone bool, cont string) (any, error) {
		if withUsage {
			if err := joinUsage(ctx, q, page); err != nil {
				return nil, err
			}
		}
		return map[string]any{"page": page, "isDone": isDone, "continueCursor": cont, "splitCursor": nil, "pageStatus": nil}, nil
	}
	if hasModel && model == "" {
		return result(true, encodeCursor(logPos{End: true, F: fp}))
	}
	var start, end *logPos
	if c, ok := po.str("cursor"); ok {
		p, err := decodeCursor(c, fp, "paginationOpts.cursor")
		if err != nil {
			return nil, err
		}
		start = &p
	}
	if c, ok := po.str("endCursor"); ok {
		p, err := decodeCursor(c, fp, "paginationOpts.endCursor")
		if err != nil {
			return nil, err
		}
		end = &p
	}
	if start != nil && start.End {
		return result(true, encodeCursor(*start))
	}
	plan := f.plan()
	var conds []string
	vals := plan.vals
	if plan.where != "" {
		conds = append(conds, plan.where)
	}
	if start != nil {
		conds = append(conds, "timestamp <= ? AND (timestamp < ? OR rowid < ?)")
		vals = append(vals, start.T, start.T, start.R)
	}
	// Without residual filters every row read is a row of the page: one more
	// tells whether any follows. With them, a page reads at most the scan bound.
	limit := int64(n) + 1
	if plan.residual != nil {
		limit = requestLogScanRows
	}
	if end != nil {
		// Up to and including endCursor's row, however many that is.
		limit = -1
		if !end.End {
			conds = append(conds, "timestamp >= ? AND (timestamp > ? OR rowid >= ?)")
			vals = append(vals, end.T, end.T, end.R)
		}
	}
	sqlWhere := ""
	if len(conds) > 0 {
		sqlWhere = "WHERE " + strings.Join(conds, " AND ")
	}
	rs, err := q.QueryContext(ctx, `SELECT rowid, requestId, userId, requestType, method, endpoint, status, statusCode, errorMessage,
		requestSize, responseSize, processingTime, userAgent, ipAddress, timestamp, model, generationId, errorType, timeToFirstToken, apiKeyId,
		conversationId, messageId
		FROM requestLogs `+sqlWhere+` ORDER BY timestamp DESC, rowid DESC LIMIT ?`, append(vals, limit)...)
	if err != nil {
		return nil, fmt.Errorf("sqlitestore: request logs: %w", err)
	}
	defer rs.Close()
	var (
		last logPos
		more bool
		read int64
	)
	for rs.Next() {
		if end == nil && plan.residual == nil && int64(len(page)) == int64(n) {
			more = true
			break
		}
		var (
			rowid, ts                                    int64
			requestID, reqType, method, endpoint, status string
			statusCode, reqSize, respSize, procTime      int64
			user, errMsg, ua, ip, model, gen, errType    sql.NullString
			apiKey, conversation, message                sql.NullString
			ttft                                         sql.NullInt64
		)
		if err := rs.Scan(&rowid, &requestID, &user, &reqType, &method, &endpoint, &status, &statusCode, &errMsg, &reqSize, &respSize,
			&procTime, &ua, &ip, &ts, &model, &gen, &errType, &ttft, &apiKey, &conversation, &message); err != nil {
			return nil, err
		}
		read++
		last = logPos{T: ts, R: rowid, F: fp}
		if plan.residual != nil && !plan.residual(logRow{ts: ts, status: status, user: user, model: model, apiKey: apiKey,
			conversation: conversation, generation: gen}) {
			if end == nil && read == limit {
				more = true // the scan bound: the next page goes on from here
				break
			}
			continue
		}
		doc := map[string]any{
			"_id": requestID, "_creationTime": ts, "requestType": reqType, "method": method, "endpoint": endpoint,
			"status": status, "statusCode": statusCode, "requestSize": reqSize, "responseSize": respSize,
			"processingTime": procTime, "timestamp": ts, "requestId": requestID,
		}
		for k, v := range map[string]sql.NullString{"userId": user, "errorMessage": errMsg, "userAgent": ua, "ipAddress": ip,
			"model": model, "generationId": gen, "errorType": errType, "apiKeyId": apiKey,
			"conversationId": conversation, "messageId": message} {
			if v.Valid {
				doc[k] = v.String
			}
		}
		if ttft.Valid {
			doc["timeToFirstToken"] = ttft.Int64
		}
		page = append(page, doc)
		if end == nil && plan.residual != nil && (read == limit || int64(len(page)) == int64(n)) {
			// As Convex's paginate: the page stops at its last row or at the
			// scan bound; whether anything follows is the next page's question.
			more = rs.Next() || read == limit
			break
		}
	}
	if err := rs.Err(); err != nil {
		return nil, err
	}
	switch {
	case end != nil:
		c, _ := po.str("endCursor")
		return result(end.End, c)
	case more:
		return result(false, encodeCursor(last))
	}
	return result(true, encodeCursor(logPos{End: true, F: fp}))
}

// joinUsage adds each row's usage figures (tokens and exact cost), joined by
// generation id; rows without a usage row (refusals, failures before a
// generation) get none.
func joinUsage(ctx context.Context, q querier, page []map[string]any) error {
	byGen := map[string][]map[string]any{}
	var ids []any
	for _, doc := range page {
		if g, ok := doc["generationId"].(string); ok {
			if _, seen := byGen[g]; !seen {
				ids = append(ids, g)
			}
			byGen[g] = append(byGen[g], doc)
		}
	}
	if len(ids) == 0 {
		return nil
	}
	rs, err := q.QueryContext(ctx, `SELECT generationId, promptTokens, completionTokens, totalTokens, cachedTokens, reasoningTokens,
		costNanoUsd, costStatus FROM usageTracking WHERE generationId IN (?`+strings.Repeat(",?", len(ids)-1)+`)`, ids...)
	if err != nil {
		return fmt.Errorf("sqlitestore: request logs usage: %w", err)
	}
	defer rs.Close()
	for rs.Next() {
		var (
			gen, costStatus                                  string
			prompt, completion, total, cached, reasoning, ns int64
		)
		if err := rs.Scan(&gen, &prompt, &completion, &total, &cached, &reasoning, &ns, &costStatus); err != nil {
			return err
		}
		for _, doc := range byGen[gen] {
			doc["usage"] = map[string]any{"promptTokens": prompt, "completionTokens": completion, "totalTokens": total,
				"cachedTokens": cached, "reasoningTokens": reasoning, "costNanoUsd": ns, "costStatus": costStatus}
		}
	}
	return rs.Err()
}
