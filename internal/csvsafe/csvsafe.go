// Package csvsafe keeps spreadsheet formulas out of the CSV files we write.
package csvsafe

// Text returns a free-text CSV cell that a spreadsheet will not run: a value
// beginning with = + - @ tab or carriage return is a formula to Excel,
// LibreOffice and Google Sheets (CWE-1236), so it gets a leading ' (OWASP's
// rule), which the spreadsheet shows as text. Numeric columns must not go
// through it: a negative number has to stay a number.
//
// The portal's writers apply the same rule (portal/src/lib/csvSafe.ts); both
// are held to testdata/cells.json, and the request-log export must match the
// portal's byte for byte.
func Text(s string) string {
	if s != "" {
		switch s[0] {
		case '=', '+', '-', '@', '\t', '\r':
			return "'" + s
		}
	}
	return s
}
