/**
 * A free-text CSV cell that a spreadsheet will not run: a value beginning
 * with = + - @ tab or carriage return is a formula to Excel, LibreOffice and
 * Google Sheets (CWE-1236), so it gets a leading ' (OWASP's rule), which the
 * spreadsheet shows as text. Numeric columns must not go through it: a
 * negative number has to stay a number.
 *
 * The service's writers apply the same rule (internal/csvsafe); both are held
 * to internal/csvsafe/testdata/cells.json, and the request-log CSV must match
 * the service's export byte for byte.
 */
export function csvSafeText(s: string): string {
  return /^[=+\-@\t\r]/.test(s) ? `'${s}` : s;
}
