import type { FunctionReturnType } from "convex/server";
import { useCallback, useContext, useRef, useState } from "react";
import { admin } from "../../data/api";
import type { PageArgs } from "../../data/backend";
import { type AdminError, toAdminError } from "../../data/errors";
import { useDataMode, useRunAdminQuery } from "../../data/hooks";
import { plural } from "../../lib/format";
import { HttpSettingsContext } from "../../data/httpBackend";
import { csvLine, EXPORT_MAX_ROWS, REQUEST_LOG_COLUMNS, requestLogRecord } from "./requestLogsCsv";

export type ExportArgs = Omit<PageArgs<typeof admin.requestLogs>, "withUsage">;

export interface ExportState {
  running: boolean;
  /** Bytes (embedded mode) or rows (Convex mode) so far. */
  progress: string;
  error: AdminError | undefined;
}

/** Pages Convex asks for; a page reads at most 2,000 rows (adminRequestLogs.ts). */
const PAGE = 200;

/**
 * Exports the filtered request logs as CSV (newest first, tokens and cost,
 * up to 1M rows) and hands the file to the browser. Embedded mode streams
 * it from the service (POST /api/export/requestLogs, constant memory
 * there); Convex mode pages llmmeter:requestLogs from the browser and
 * writes the same CSV (requestLogsCsv.ts). Either way the file is built as a
 * Blob of chunks, which Chromium keeps on disk when it grows large.
 */
export function useRequestExport(): [ExportState, (args: ExportArgs) => Promise<Blob | undefined>] {
  const mode = useDataMode();
  const http = useContext(HttpSettingsContext);
  const run = useRunAdminQuery();
  const [state, setState] = useState<ExportState>({ running: false, progress: "", error: undefined });
  const busy = useRef(false);

  const start = useCallback(
    async (args: ExportArgs) => {
      if (busy.current) return undefined;
      busy.current = true;
      setState({ running: true, progress: "", error: undefined });
      try {
        const parts: BlobPart[] = [];
        if (mode === "http" && http) {
          const res = await http.client.export("requestLogs", args as Record<string, unknown>);
          const reader = res.body!.getReader();
          let bytes = 0;
          for (;;) {
            const { done, value } = await reader.read();
            if (done) break;
            parts.push(value);
            bytes += value.byteLength;
            setState((s) => ({ ...s, progress: `${Math.round(bytes / 1024).toLocaleString()} KB` }));
          }
        } else {
          parts.push(csvLine(REQUEST_LOG_COLUMNS));
          let cursor: string | null = null;
          let rows = 0;
          for (;;) {
            const page: FunctionReturnType<typeof admin.requestLogs> = await run(admin.requestLogs, { ...args, withUsage: true, paginationOpts: { numItems: PAGE, cursor } });
            const lines = page.page.slice(0, EXPORT_MAX_ROWS - rows).map((r) => csvLine(requestLogRecord(r)));
            parts.push(lines.join(""));
            rows += lines.length;
            setState((s) => ({ ...s, progress: plural(rows, "row") }));
            if (page.isDone || rows >= EXPORT_MAX_ROWS) break;
            cursor = page.continueCursor;
          }
        }
        const blob = new Blob(parts, { type: "text/csv;charset=utf-8" });
        setState((s) => ({ ...s, running: false }));
        return blob;
      } catch (e) {
        setState({ running: false, progress: "", error: toAdminError(e) });
        return undefined;
      } finally {
        busy.current = false;
      }
    },
    [mode, http, run],
  );
  return [state, start];
}
