/**
 * In-page checks shared by the accessibility and layout tests: axe-core (the
 * pinned devDependency, injected from node_modules, never fetched), the
 * width of the page against the viewport, and the contrast of chart text
 * that axe does not measure (SVG text, legend and tooltip colours).
 */
import { readFile } from "node:fs/promises";
import { createRequire } from "node:module";
import type { Page } from "playwright-core";

const require = createRequire(import.meta.url);
let axeSource: Promise<string> | undefined;

export interface AxeFinding {
  id: string;
  impact: string;
  help: string;
  targets: string[];
}

/** Serious and critical axe violations of the page as it is now (of `only` these rules if given). */
export async function axeViolations(page: Page, only?: string[]): Promise<AxeFinding[]> {
  axeSource ??= readFile(require.resolve("axe-core/axe.min.js"), "utf8");
  // Through DevTools, as the portal's Content-Security-Policy (script-src 'self') refuses inline scripts.
  if (!(await page.evaluate(() => "axe" in window))) {
    const cdp = await page.context().newCDPSession(page);
    try {
      await cdp.send("Runtime.evaluate", { expression: await axeSource });
    } finally {
      await cdp.detach();
    }
  }
  return page.evaluate(async (only) => {
    const axe = (window as unknown as { axe: { run: (ctx: Document, opts: object) => Promise<{ violations: AxeViolation[] }> } }).axe;
    type AxeViolation = { id: string; impact: string | null; help: string; nodes: { target: unknown[] }[] };
    const r = await axe.run(document, { resultTypes: ["violations"], ...(only ? { runOnly: { type: "rule", values: only } } : {}) });
    return r.violations
      .filter((v) => v.impact === "serious" || v.impact === "critical")
      .map((v) => ({ id: v.id, impact: v.impact!, help: v.help, targets: v.nodes.slice(0, 5).map((n) => String(n.target.join(" "))) }));
  }, only);
}

/** The page's scroll width and, if wider than the viewport, the elements that stick out. */
export async function overflow(page: Page): Promise<{ scrollWidth: number; innerWidth: number; culprits: string[] }> {
  return page.evaluate(() => {
    const w = window.innerWidth;
    const culprits: string[] = [];
    if (document.documentElement.scrollWidth > w) {
      // Elements inside a scroll container (a table's wrapper) may be wider: they do not widen the page.
      const clipped = (el: HTMLElement) => {
        for (let p = el.parentElement; p && p !== document.body; p = p.parentElement) if (getComputedStyle(p).overflowX !== "visible") return true;
        return false;
      };
      for (const el of Array.from(document.body.querySelectorAll<HTMLElement>("*"))) {
        const r = el.getBoundingClientRect();
        if (r.right > w + 0.5 && r.width > 0 && !clipped(el)) {
          culprits.push(`${el.tagName.toLowerCase()}.${el.className} (${Math.round(r.right)} px)`);
          if (culprits.length >= 8) break;
        }
      }
    }
    return { scrollWidth: document.documentElement.scrollWidth, innerWidth: w, culprits };
  });
}

export interface LowContrast {
  text: string;
  ratio: number;
}

/**
 * Chart text below 4.5:1 against the box it is drawn on: axis ticks, legend
 * entries and, if one is open, the tooltip's lines.
 */
export async function chartContrast(page: Page): Promise<{ checked: number; low: LowContrast[] }> {
  return page.evaluate(() => {
    const rgb = (c: string): [number, number, number, number] => {
      const m = c.match(/[\d.]+/g)!.map(Number);
      return [m[0], m[1], m[2], m.length > 3 ? m[3] : 1];
    };
    const lum = ([r, g, b]: number[]) => {
      const f = (x: number) => ((x /= 255) <= 0.03928 ? x / 12.92 : ((x + 0.055) / 1.055) ** 2.4);
      return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
    };
    // The first opaque background from the element up.
    const background = (el: Element | null): number[] => {
      for (; el; el = el.parentElement) {
        const c = rgb(getComputedStyle(el).backgroundColor);
        if (c[3] === 1) return c;
      }
      return [255, 255, 255];
    };
    const ratio = (a: number[], b: number[]) => {
      const [x, y] = [lum(a), lum(b)].sort((p, q) => q - p);
      return (x + 0.05) / (y + 0.05);
    };
    const texts = Array.from(
      document.querySelectorAll<Element>(".recharts-cartesian-axis-tick-value, .recharts-legend-item-text, .recharts-tooltip-item, .recharts-tooltip-label"),
    );
    const low: { text: string; ratio: number }[] = [];
    for (const t of texts) {
      const cs = getComputedStyle(t);
      const ink = rgb(t instanceof SVGElement ? cs.fill : cs.color);
      const r = ratio(ink, background(t.closest(".recharts-default-tooltip") ?? t.closest(".card")));
      if (r < 4.5) low.push({ text: (t.textContent ?? "").trim().slice(0, 40), ratio: Math.round(r * 100) / 100 });
    }
    return { checked: texts.length, low };
  });
}
