/**
 * The deployment's environment variables, read through Convex's `process.env`
 * (set with `npx convex env set`). The shape is declared here, scoped to this
 * module, so an installing app type-checks these sources without Node's types
 * (`@types/node`); with them, this local declaration shadows Node's global one.
 * At run time `process` is the runtime's own global (this declaration emits
 * nothing).
 */
declare const process: { env: Record<string, string | undefined> };

/** The value of environment variable `name` at the time of the call, or undefined if unset. */
export function envVar(name: string): string | undefined {
  return process.env[name];
}
