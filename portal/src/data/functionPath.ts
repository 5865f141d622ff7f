import { type FunctionReference, getFunctionName } from "convex/server";

/**
 * The module an app re-exports llmmeter's functions from (convex/llmmeter.ts,
 * so paths read "llmmeter:overview"). A data client takes another module
 * name as an option; nothing else in the portal names a module.
 */
export const DEFAULT_MODULE = "llmmeter";

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyRef = FunctionReference<any, any, any, any>;

/**
 * The path of `ref`'s function in `module`. Pages pass the typed references
 * of the codegen (data/api.ts) for their argument and result types; only the
 * function's name is kept, the module is the data client's.
 */
export function functionPath(module: string, ref: AnyRef): string {
  const name = getFunctionName(ref);
  return `${module}:${name.slice(name.indexOf(":") + 1)}`;
}

/** The module of a reference ("admin" for api.admin.overview). */
export function moduleOf(ref: AnyRef): string {
  const name = getFunctionName(ref);
  const i = name.indexOf(":");
  return (i < 0 ? name : name.slice(0, i)).replace(/\.js$/, "");
}
