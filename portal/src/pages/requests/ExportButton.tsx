import { useAnnounce } from "../../components/Announcer";
import { downloadBlob } from "../../lib/download";
import { type ExportArgs, useRequestExport } from "./useRequestExport";

/**
 * "Export CSV" of the filtered view. The button keeps focus while the file
 * is built (aria-disabled, not disabled); progress and the outcome are
 * announced. The file is also left on window.__llmmeterLastExport for the
 * end-to-end test, which cannot read the browser's downloads folder.
 */
export function ExportButton({ args }: { args: ExportArgs }) {
  const [state, start] = useRequestExport();
  const announce = useAnnounce();
  const onClick = async () => {
    if (state.running) return;
    announce("Exporting the filtered requests");
    const blob = await start(args);
    if (!blob) {
      announce("The export failed");
      return;
    }
    (window as { __llmmeterLastExport?: Blob }).__llmmeterLastExport = blob;
    downloadBlob(`requests-${new Date().toISOString().slice(0, 19).replace(/:/g, "")}Z.csv`, blob);
    announce("Export ready");
  };
  return (
    <span className="export">
      <button type="button" className="btn" aria-disabled={state.running} onClick={onClick} data-testid="export-csv">
        {state.running ? `Exporting… ${state.progress}` : "Export CSV"}
      </button>
      {state.error && (
        <p role="alert" className="error-box">
          Export failed: {state.error.message}
        </p>
      )}
    </span>
  );
}
