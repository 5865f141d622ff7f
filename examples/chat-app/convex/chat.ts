/**
 * The chat app's model answer, through the llmmeter gateway.
 *
 * The action runs server to server, so it cannot forward the user's Clerk
 * token: it calls the gateway with the app's service key and names the end
 * user (the Clerk subject) in X-Llmmeter-User. Usage, quotas and activity
 * then belong to that user, and the gateway's 429 is the user's quota.
 *
 * Deployment environment (`npx convex env set`):
 *   LLMMETER_GATEWAY_URL   e.g. https://llm.example.com
 *   LLMMETER_SERVICE_KEY   from `llmmeterctl keys create -service -name chat-app`
 */
import { v } from "convex/values";
import { internal } from "./_generated/api";
import type { Id } from "./_generated/dataModel";
import { action } from "./_generated/server";
import { readAnswer } from "./lib/sse";

type Turn = {
  conversationId: Id<"conversations">;
  assistantId: Id<"messages">;
  history: { role: "user" | "assistant"; content: string }[];
};

/** How often the streaming answer is written to the message (ms). */
const FLUSH_EVERY_MS = 250;

export const send = action({
  args: {
    conversationId: v.optional(v.id("conversations")),
    content: v.string(),
    model: v.optional(v.string()),
  },
  returns: v.object({
    conversationId: v.id("conversations"),
    messageId: v.id("messages"),
    status: v.union(v.literal("done"), v.literal("failed")),
  }),
  handler: async (ctx, args): Promise<{ conversationId: Id<"conversations">; messageId: Id<"messages">; status: "done" | "failed" }> => {
    const identity = await ctx.auth.getUserIdentity();
    if (identity === null) throw new Error("sign in first");
    const gateway = process.env.LLMMETER_GATEWAY_URL;
    const key = process.env.LLMMETER_SERVICE_KEY;
    if (!gateway || !key) throw new Error("LLMMETER_GATEWAY_URL and LLMMETER_SERVICE_KEY must be set");

    const turn: Turn = await ctx.runMutation(internal.messages.start, {
      clerkUserId: identity.subject,
      name: identity.name,
      email: identity.email,
      conversationId: args.conversationId,
      content: args.content,
    });
    await ctx.runMutation(internal.llmmeter.recordActivity, {
      externalUserId: identity.subject,
      activityType: "message_sent",
      metadata: { conversationId: turn.conversationId },
    });

    const headers: Record<string, string> = {
      authorization: `Bearer ${key}`,
      "content-type": "application/json",
      "x-llmmeter-user": identity.subject,
    };
    // fetch cannot send UTF-8 in a header ("Zoë" goes out as Latin-1, "王芳"
    // throws): the gateway takes RFC 8187's UTF-8''<percent-encoded> form.
    const rfc8187 = (s: string) => "UTF-8''" + encodeURIComponent(s);
    if (identity.name) headers["x-llmmeter-user-name"] = rfc8187(identity.name);
    if (identity.email) headers["x-llmmeter-user-email"] = rfc8187(identity.email);

    let status: "done" | "failed" = "failed";
    let text = "";
    try {
      const res = await fetch(`${gateway.replace(/\/$/, "")}/v1/chat/completions`, {
        method: "POST",
        headers,
        body: JSON.stringify({
          model: args.model ?? "openai/gpt-4o-mini",
          messages: turn.history,
          stream: true,
          conversation_id: turn.conversationId,
          message_id: turn.assistantId,
        }),
      });
      if (!res.ok || res.body === null) {
        // The gateway's OpenAI-shaped error, e.g. 429 quota_exceeded.
        const err = (await res.json().catch(() => null)) as { error?: { message?: string } } | null;
        text = err?.error?.message ?? `gateway answered HTTP ${res.status}`;
      } else {
        let flushed = Date.now();
        for await (const delta of readAnswer(res.body)) {
          text += delta;
          if (Date.now() - flushed >= FLUSH_EVERY_MS) {
            await ctx.runMutation(internal.messages.write, { messageId: turn.assistantId, content: text, status: "streaming" });
            flushed = Date.now();
          }
        }
        status = "done";
      }
    } finally {
      await ctx.runMutation(internal.messages.write, { messageId: turn.assistantId, content: text, status });
    }
    return { conversationId: turn.conversationId, messageId: turn.assistantId, status };
  },
});
