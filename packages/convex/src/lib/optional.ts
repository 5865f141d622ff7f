/**
 * Types only (nothing here exists at run time): what an optional property
 * `k?: T` accepts when an app compiles these sources with
 * `exactOptionalPropertyTypes`, under which `k?: T` no longer takes an
 * explicit `k: undefined`.
 */
import type { WithoutSystemFields } from "convex/server";
import type { Doc, TableNames } from "../server";

/** T whose optional properties also accept an explicit undefined (what `?:` means without exactOptionalPropertyTypes). */
export type OrUndefined<T> = { [K in keyof T]: {} extends Pick<T, K> ? T[K] | undefined : T[K] };

/** The fields of a new document of table T, as db.insert takes them. */
export type NewDoc<T extends TableNames> = WithoutSystemFields<Doc<T>>;

/**
 * A new document of table T as the library builds it: an optional field may
 * be present with the value undefined. Convex stores such a field as absent
 * (convexToJson skips undefined fields of an object), so
 * `fields satisfies NewDocFields<T> as NewDoc<T>` only restates the type.
 */
export type NewDocFields<T extends TableNames> = OrUndefined<NewDoc<T>>;
