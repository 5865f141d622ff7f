/**
 * What an optional property `k?: T` accepts when an app compiles these
 * sources with `exactOptionalPropertyTypes`, under which `k?: T` no longer
 * takes an explicit `k: undefined`; and db.insert for documents built so.
 */
import type { GenericDatabaseWriter, WithoutSystemFields } from "convex/server";
import type { DataModel, Doc, TableNames } from "../server";

/** T whose optional properties also accept an explicit undefined (what `?:` means without exactOptionalPropertyTypes). */
export type OrUndefined<T> = { [K in keyof T]: {} extends Pick<T, K> ? T[K] | undefined : T[K] };

/** The fields of a new document of table T, as db.insert takes them. */
export type NewDoc<T extends TableNames> = WithoutSystemFields<Doc<T>>;

/**
 * A new document of table T as the library builds it: an optional field may
 * be present with the value undefined. Convex stores such a field as absent
 * (convexToJson skips undefined fields of an object), so
 * insertDoc only restates the type.
 */
export type NewDocFields<T extends TableNames> = OrUndefined<NewDoc<T>>;

/** db.insert of a new document whose optional fields may be present as undefined. */
export function insertDoc<T extends TableNames>(db: GenericDatabaseWriter<DataModel>, table: T, doc: NewDocFields<T>) {
  return db.insert(table, doc as NewDoc<T>);
}
