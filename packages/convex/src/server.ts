/**
 * The library's own typed function builders and types, in place of an app's
 * convex/_generated/server: the library is built before any app exists, so
 * it types its functions against its own tables ({@link llmmeterTables})
 * with convex/server's generic builders, as @convex-dev/auth does. Within
 * the app's schema the same tables have the same documents, so the
 * functions run unchanged in any app that spreads llmmeterTables.
 */
import {
  defineSchema,
  httpActionGeneric,
  internalMutationGeneric,
  internalQueryGeneric,
  mutationGeneric,
  queryGeneric,
  type DataModelFromSchemaDefinition,
  type DocumentByName,
  type GenericActionCtx,
  type GenericDatabaseReader,
  type GenericDatabaseWriter,
  type GenericMutationCtx,
  type GenericQueryCtx,
  type HttpActionBuilder,
  type MutationBuilder,
  type QueryBuilder,
  type TableNamesInDataModel,
} from "convex/server";
import type { GenericId } from "convex/values";
import { llmmeterTables } from "./tables";

const schema = defineSchema(llmmeterTables);
export type DataModel = DataModelFromSchemaDefinition<typeof schema>;
export type TableNames = TableNamesInDataModel<DataModel>;
export type Doc<T extends TableNames> = DocumentByName<DataModel, T>;
export type Id<T extends TableNames> = GenericId<T>;

export type QueryCtx = GenericQueryCtx<DataModel>;
export type MutationCtx = GenericMutationCtx<DataModel>;
export type ActionCtx = GenericActionCtx<DataModel>;
export type DatabaseReader = GenericDatabaseReader<DataModel>;
export type DatabaseWriter = GenericDatabaseWriter<DataModel>;

export const query: QueryBuilder<DataModel, "public"> = queryGeneric;
export const mutation: MutationBuilder<DataModel, "public"> = mutationGeneric;
export const internalQuery: QueryBuilder<DataModel, "internal"> = internalQueryGeneric;
export const internalMutation: MutationBuilder<DataModel, "internal"> = internalMutationGeneric;
export const httpAction: HttpActionBuilder = httpActionGeneric;
