/**
 * Wire-shape checking for the signed HTTP actions.
 *
 * One Convex validator per shape is the single source of truth: it is used as
 * the `args` validator of the internal functions the HTTP actions call, and
 * {@link check} walks the same validator at run time to produce messages that
 * name the offending field, e.g. `usage[3].promptTokens: expected non-negative
 * integer`. Refinements that a Convex validator cannot express (integers,
 * ranges, string lengths) are attached to a validator instance with
 * {@link refined}.
 *
 * Rules (the Go engine applies the same ones):
 * - unknown object fields are ignored and stripped (forward compatible);
 * - `null` for an optional field means "absent";
 * - a refinement may normalize a value (e.g. truncate free text).
 *
 * Why not convex-helpers' `validate` (used for the admin arguments, lib/auth.ts):
 * it answers yes/no on Convex's strict semantics, while the wire bodies need
 * the opposite rules above (strip unknown fields, null as absent), the
 * refinements and the normalized value back.
 */
import { v, type GenericValidator, type Infer } from "convex/values";

/** A problem with one field of a request body. */
export class ShapeError extends Error {
  constructor(
    readonly path: string,
    readonly detail: string,
  ) {
    super(path ? `${path}: ${detail}` : detail);
    this.name = "ShapeError";
  }
}

/** Checks (and may normalize) a structurally valid value; throws ShapeError. */
export type Refinement = (value: any, path: string) => unknown;

const refinements = new WeakMap<object, Refinement>();

/** Attaches a refinement to this validator instance and returns it. */
export function refined<V extends GenericValidator>(validator: V, refine: Refinement): V {
  refinements.set(validator, refine);
  return validator;
}

/** `v.optional(inner)` that keeps inner's refinement. */
export function opt<V extends GenericValidator>(inner: V) {
  const outer = v.optional(inner);
  const r = refinements.get(inner);
  if (r) refinements.set(outer, r);
  return outer;
}

function join(path: string, key: string | number): string {
  if (typeof key === "number") return `${path}[${key}]`;
  return path ? `${path}.${key}` : key;
}

/**
 * A UTF-16 surrogate without its other half. JSON may spell one (`"\ud800"`),
 * but it is not text: Convex stores strings as UTF-8, which cannot hold it,
 * so such a value failed at the write (a 500) or was not stored as sent.
 */
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

function checkText(x: string, path: string): void {
  if (LONE_SURROGATE.test(x)) throw new ShapeError(path, "expected well-formed Unicode text (a lone surrogate)");
}

function describe(x: unknown): string {
  if (x === null) return "null";
  if (Array.isArray(x)) return "array";
  // JSON.parse turns an out-of-range literal such as 1e400 into Infinity.
  if (typeof x === "number" && !Number.isFinite(x)) return "a number out of range";
  return typeof x;
}

/**
 * Checks `value` against `validator`, returning the normalized value.
 * Throws {@link ShapeError} naming the first offending field.
 */
export function check<V extends GenericValidator>(validator: V, value: unknown, path = ""): Infer<V> {
  return walk(validator, value, path) as Infer<V>;
}

function walk(validator: GenericValidator, value: unknown, path: string): unknown {
  if (value === undefined || value === null) {
    if (validator.isOptional === "optional") return undefined;
    if (validator.kind === "null" && value === null) return null;
    if (validator.kind === "any") return value;
    throw new ShapeError(path, "required");
  }
  let out: unknown = value;
  switch (validator.kind) {
    case "string":
    case "id":
      if (typeof value !== "string") throw new ShapeError(path, `expected string, got ${describe(value)}`);
      checkText(value, path);
      break;
    case "float64":
      if (typeof value !== "number" || !Number.isFinite(value))
        throw new ShapeError(path, `expected number, got ${describe(value)}`);
      break;
    case "boolean":
      if (typeof value !== "boolean") throw new ShapeError(path, `expected boolean, got ${describe(value)}`);
      break;
    case "literal":
      if (value !== validator.value) throw new ShapeError(path, `expected ${JSON.stringify(validator.value)}`);
      break;
    case "union": {
      const members = validator.members;
      if (members.every((m) => m.kind === "literal")) {
        if (!members.some((m) => m.value === value))
          throw new ShapeError(path, `expected one of ${members.map((m) => JSON.stringify(m.value)).join(", ")}`);
        break;
      }
      let lastError: unknown;
      for (const m of members) {
        try {
          out = walk(m, value, path);
          lastError = undefined;
          break;
        } catch (e) {
          lastError = e;
        }
      }
      if (lastError) throw lastError;
      break;
    }
    case "array": {
      if (!Array.isArray(value)) throw new ShapeError(path, `expected array, got ${describe(value)}`);
      out = value.map((x, i) => walk(validator.element, x, join(path, i)));
      break;
    }
    case "object": {
      if (typeof value !== "object" || Array.isArray(value))
        throw new ShapeError(path, `expected object, got ${describe(value)}`);
      const obj: Record<string, unknown> = {};
      for (const [k, fv] of Object.entries(validator.fields)) {
        const r = walk(fv, (value as Record<string, unknown>)[k], join(path, k));
        if (r !== undefined) obj[k] = r;
      }
      out = obj;
      break;
    }
    case "record": {
      if (typeof value !== "object" || Array.isArray(value))
        throw new ShapeError(path, `expected object, got ${describe(value)}`);
      const obj: Record<string, unknown> = {};
      for (const [k, x] of Object.entries(value as Record<string, unknown>)) {
        walk(validator.key, k, join(path, k));
        obj[k] = walk(validator.value, x, join(path, k));
      }
      out = obj;
      break;
    }
    case "any":
      break;
    default:
      throw new ShapeError(path, `unsupported validator kind ${validator.kind}`);
  }
  const refine = refinements.get(validator);
  if (refine) {
    const r = refine(out, path);
    if (r !== undefined) out = r;
  }
  return out;
}

// ---- Refined scalar builders ------------------------------------------------

/** A non-negative safe integer, at most `max`. */
export function nonNegInt(max = Number.MAX_SAFE_INTEGER) {
  return refined(v.number(), (x: number, p) => {
    if (!Number.isSafeInteger(x) || x < 0) throw new ShapeError(p, "expected non-negative integer");
    if (x > max) throw new ShapeError(p, `expected at most ${max}`);
  });
}

/** An integer in [min, max]. */
export function intIn(min: number, max: number) {
  return refined(v.number(), (x: number, p) => {
    if (!Number.isSafeInteger(x) || x < min || x > max)
      throw new ShapeError(p, `expected integer in [${min}, ${max}]`);
  });
}

/** A string of length in [min, max] (UTF-16 code units). */
export function str(max: number, min = 1) {
  return refined(v.string(), (x: string, p) => {
    if (x.length < min) throw new ShapeError(p, min === 1 ? "expected non-empty string" : `expected at least ${min} characters`);
    if (x.length > max) throw new ShapeError(p, `expected at most ${max} characters`);
  });
}

/**
 * Free text: longer values are truncated to `max` code units instead of
 * rejected, never between the two halves of a surrogate pair (an emoji at
 * the cut): half a pair is not text, and Convex stores strings as UTF-8,
 * which cannot hold it.
 */
export function text(max: number) {
  return refined(v.string(), (x: string) => {
    if (x.length <= max) return undefined;
    const last = x.charCodeAt(max - 1);
    return x.slice(0, last >= 0xd800 && last <= 0xdbff ? max - 1 : max);
  });
}

/** A string matching `re`, described as `what` in the error. */
export function matching(re: RegExp, what: string) {
  return refined(v.string(), (x: string, p) => {
    if (!re.test(x)) throw new ShapeError(p, `expected ${what}`);
  });
}

/**
 * A small JSON object: at most `maxBytes` when serialized, nesting depth ≤ 4,
 * no field name that is empty or starts with "$", arrays of at most 8192
 * values and objects of at most 1024 fields (not storable in Convex).
 */
export function smallObject(maxBytes: number) {
  return refined(v.record(v.string(), v.any()), (x: Record<string, unknown>, p) => {
    const visit = (val: unknown, path: string, depth: number): void => {
      if (depth > 4) throw new ShapeError(path, "nested too deeply (max depth 4)");
      if (typeof val === "string") checkText(val, path);
      else if (Array.isArray(val)) {
        // Convex stores at most 8192 values per array and 1024 fields per
        // object; past that the insert failed, a 500 retried forever.
        if (val.length > 8192) throw new ShapeError(path, "arrays hold at most 8192 values");
        val.forEach((e, i) => visit(e, join(path, i), depth + 1));
      } else if (val !== null && typeof val === "object") {
        const entries = Object.entries(val);
        if (entries.length > 1024) throw new ShapeError(path, "objects hold at most 1024 fields");
        for (const [k, e] of entries) {
          if (k === "" || k.startsWith("$")) throw new ShapeError(join(path, k), "field names must be non-empty and must not start with $");
          // Convex stores only non-control ASCII field names; anything else
          // failed at the insert, a 500 the sender retried forever. The name
          // itself is not echoed: the answer may be logged.
          if (!/^[\x20-\x7e]{1,1024}$/.test(k)) {
            throw new ShapeError(path, "field names must be non-control ASCII (at most 1024 characters)");
          }
          visit(e, join(path, k), depth + 1);
        }
      }
    };
    // Depth first: it stops at depth 5, while JSON.stringify recurses through
    // whatever nesting the body has and throws a RangeError (a 500) on a deep one.
    visit(x, p, 0);
    const size = new TextEncoder().encode(JSON.stringify(x)).length;
    if (size > maxBytes) throw new ShapeError(p, `expected at most ${maxBytes} bytes of JSON`);
  });
}
