/**
 * The text deltas of an OpenAI-compatible chat completion stream.
 *
 * Server-sent events: `data: {json}` lines separated by blank lines, comment
 * lines (`: OPENROUTER PROCESSING`) to ignore, and `data: [DONE]` at the end.
 * A mid-stream error arrives as a data line with an `error` object, which is
 * thrown so the message is marked failed.
 */
export async function* readAnswer(body: ReadableStream<Uint8Array>): AsyncGenerator<string> {
  const reader = body.getReader();
  const decoder = new TextDecoder(); // stream: true keeps a character split across reads whole
  let buf = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buf += decoder.decode(value, { stream: true });
    let nl: number;
    while ((nl = buf.indexOf("\n")) >= 0) {
      const line = buf.slice(0, nl).replace(/\r$/, "");
      buf = buf.slice(nl + 1);
      if (!line.startsWith("data:")) continue;
      const data = line.slice(5).trim();
      if (data === "[DONE]") return;
      const event = JSON.parse(data) as {
        error?: { message?: string };
        choices?: { delta?: { content?: string | null } }[];
      };
      if (event.error) throw new Error(event.error.message ?? "stream failed");
      const delta = event.choices?.[0]?.delta?.content;
      if (delta) yield delta;
    }
  }
}
