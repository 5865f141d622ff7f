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
	opt("from", vNumber),
	opt("to", vNumber),
}

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
	status, userID, model string
	from, to              *float64
}

func (f logFilter) fingerprint() string {
	num := func(p *float64) string {
		if p == nil {
			return "-"
		}
		return fmt.Sprint(*p)
	}
	h := sha256.Sum256([]byte(strings.Join([]string{f.status, f.userID, f.model, num(f.from), num(f.to)}, "\x00")))
	return hex.EncodeToString(h[:6])
}

// where is the filter as SQL over the index whose equality columns are the
// set filters (requestLogs_by_[user_id_and_][model_and_][status_and_]timestamp).
func (f logFilter) where() (string, []any) {
	var (
		conds []string
		vals  []any
	)
	if f.userID != "" {
		conds, vals = append(conds, "userId = ?"), append(vals, f.userID)
	}
	if f.model != "" {
		conds, vals = append(conds, "model = ?"), append(vals, f.model)
	}
	if f.status != "" {
		conds, vals = append(conds, "status = ?"), append(vals, f.status)
	}
	if f.from != nil {
		conds, vals = append(conds, "timestamp >= ?"), append(vals, *f.from)
	}
	if f.to != nil {
		conds, vals = append(conds, "timestamp < ?"), append(vals, *f.to)
	}
	return strings.Join(conds, " AND "), vals
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
	if raw, ok := a.str("userId"); ok {
		id, err := idOf("users", raw, "userId")
		if err != nil {
			return nil, err
		}
		f.userID = id
	}
	f.status, _ = a.str("status")
	model, hasModel := a.str("modelSlug")
	f.model = model
	fp := f.fingerprint()

	page := []map[string]any{}
	result := func(isDone bool, cont string) any {
		return map[string]any{"page": page, "isDone": isDone, "continueCursor": cont, "splitCursor": nil, "pageStatus": nil}
	}
	if hasModel && model == "" {
		return result(true, encodeCursor(logPos{End: true, F: fp})), nil
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
		return result(true, encodeCursor(*start)), nil
	}
	where, vals := f.where()
	var conds []string
	if where != "" {
		conds = append(conds, where)
	}
	if start != nil {
		conds = append(conds, "timestamp <= ? AND (timestamp < ? OR rowid < ?)")
		vals = append(vals, start.T, start.T, start.R)
	}
	limit := int64(n) + 1
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
	)
	for rs.Next() {
		if end == nil && int64(len(page)) == int64(n) {
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
		last = logPos{T: ts, R: rowid, F: fp}
	}
	if err := rs.Err(); err != nil {
		return nil, err
	}
	switch {
	case end != nil:
		c, _ := po.str("endCursor")
		return result(end.End, c), nil
	case more:
		return result(false, encodeCursor(last)), nil
	}
	return result(true, encodeCursor(logPos{End: true, F: fp})), nil
}
