package app

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"llmmeter/openrouter/openroutertest"
)

// tinyDisk mounts a small tmpfs for the test, or skips when mounting is not
// permitted (not root, no CAP_SYS_ADMIN).
func tinyDisk(t *testing.T, size string) string {
	t.Helper()
	dir := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size="+size, "tmpfs", dir).CombinedOutput(); err != nil {
		t.Skipf("mounting a tmpfs is not permitted here (%v: %s): the full-disk test needs it", err, strings.TrimSpace(string(out)))
	}
	t.Cleanup(func() { exec.Command("umount", "-l", dir).Run() })
	return dir
}

// fill writes a file until the disk under dir is full.
func fill(t *testing.T, dir string) string {
	t.Helper()
	path := filepath.Join(dir, "filler")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	chunk := make([]byte, 64<<10)
	for {
		if _, err := f.Write(chunk); err != nil {
			if errors.Is(err, syscall.ENOSPC) {
				return path
			}
			t.Fatal(err)
		}
	}
}

// TestFullDiskNeverAnswersUnrecorded: with DATA_DIR on a full disk, no call
// is answered 200 (or [DONE]) without its rows on disk. The call whose rows
// could not be written gets 503 (plain) or an error chunk instead of [DONE]
// (stream); later calls are refused with 503 accounting_unavailable before
// going upstream; /readyz says 503. When space returns, recording resumes by
// itself, and every generation the upstream billed is recorded, including
// the ones whose rows waited in memory.
func TestFullDiskNeverAnswersUnrecorded(t *testing.T) {
	dataDir := tinyDisk(t, "3m")
	cfg := testConfig(t, map[string]string{"DATA_DIR": dataDir})
	cfg.DataDir = dataDir
	storePath := filepath.Join(t.TempDir(), StoreFile) // only the outbox is on the small disk
	e := launch(t, cfg, zerolog.Nop(), Options{
		Simulator:      &openroutertest.Options{GenerationDelay: 50 * time.Millisecond, AnswerTokens: 12},
		GenerationWait: 5 * time.Second, Stdout: io.Discard,
		StorePath: storePath,
	}, "dora")
	a := e.app

	// Calls until one cannot be recorded (the WAL may still have room for a
	// few); every call answered in full must be on disk by then. The first
	// round fails on a stream, the second on a plain call.
	answered := 0
	untilFull := func(streamFirst bool) {
		for i := 0; i < 400; i++ {
			stream := (i%2 == 0) == streamFirst
			res := e.post(chatBody(stream, strings.Repeat("fill the disk ", 200)), e.key)
			body, _ := io.ReadAll(res.Body)
			res.Body.Close()
			switch {
			case !stream && res.StatusCode == 200:
				answered++
			case stream && strings.Contains(string(body), "data: [DONE]"):
				answered++
			case !stream:
				if res.StatusCode != 503 || !strings.Contains(string(body), "accounting_unavailable") {
					t.Fatalf("plain call %d on a full disk: %d %s", i, res.StatusCode, body)
				}
				return
			default:
				if res.StatusCode != 200 || !strings.Contains(string(body), `"finish_reason":"error"`) {
					t.Fatalf("stream %d on a full disk: %d %s", i, res.StatusCode, body)
				}
				return
			}
		}
		t.Fatal("the disk never filled up")
	}
	filler := fill(t, dataDir)
	untilFull(true)
	// The last stream's generation may still be ending upstream after its
	// client got the error (over HTTP/2 the simulator's handler returns a
	// little after its last frame is read): count once nothing is in flight.
	idleCtx, cancelIdle := context.WithTimeout(context.Background(), time.Minute)
	defer cancelIdle()
	if err := a.Sim.WaitIdle(idleCtx); err != nil {
		t.Fatal(err)
	}
	billed := len(a.Sim.Ledger())

	// Refused before going upstream, with Retry-After; not ready.
	res := e.post(chatBody(false, "refused"), e.key)
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 503 || res.Header.Get("Retry-After") == "" || !strings.Contains(string(body), "accounting_unavailable") {
		t.Fatalf("call while the outbox cannot write: %d %q %s", res.StatusCode, res.Header.Get("Retry-After"), body)
	}
	if n := len(a.Sim.Ledger()); n != billed {
		t.Fatalf("%d refused calls went upstream", n-billed)
	}
	// Delivery frees pages inside the outbox's file, so a retry of the
	// stalled entries may commit and the outbox recover by itself (seen on a
	// loaded machine). /readyz must say "not ready" while it cannot write:
	// checked across a call during which no commit succeeded (a failed
	// commit makes a new error), refilling when it recovered first.
	for checked, tries := false, 0; !checked; tries++ {
		if tries == 100 {
			t.Fatal("the outbox never stayed unwritable across a /readyz call")
		}
		before := a.Outbox.Writable()
		code, detail := readyz(t, e.base)
		if before != nil && a.Outbox.Writable() == before {
			if code != 503 || !strings.Contains(detail, "outbox cannot write") {
				t.Fatalf("/readyz while the outbox cannot write: %d %s", code, detail)
			}
			checked = true
		} else if a.Outbox.Writable() == nil {
			untilFull(true)
		}
	}

	// Space returns: recording resumes by itself.
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { code, _ := readyz(t, e.base); return code == 200 })
	res = e.post(chatBody(true, "after"), e.key)
	body, _ = io.ReadAll(res.Body)
	res.Body.Close()
	if !strings.Contains(string(body), "data: [DONE]") {
		t.Fatalf("call after space returned: %d %s", res.StatusCode, body)
	}
	answered++

	// Full again, now failing on a plain call; then space returns for good.
	filler = fill(t, dataDir)
	untilFull(false)
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { code, _ := readyz(t, e.base); return code == 200 })
	e.settle()
	e.openStore(storePath)
	e.matchLedger()
	// The call that could not be recorded in time is logged as its client
	// saw it; the refused one is not logged at all.
	var n503 int
	if err := e.db.QueryRow(`SELECT count(*) FROM requestLogs WHERE statusCode = 503`).Scan(&n503); err != nil {
		t.Fatal(err)
	}
	if n503 != 2 || e.count("requestLogs") != answered+2 {
		t.Fatalf("request logs: %d with 503 (want 2), %d in all (want %d)", n503, e.count("requestLogs"), answered+2)
	}
}

func readyz(t *testing.T, base string) (int, string) {
	t.Helper()
	res, err := http.Get(base + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var v map[string]any
	json.NewDecoder(res.Body).Decode(&v)
	b, _ := json.Marshal(v)
	return res.StatusCode, string(b)
}
