/** llmmeter's signed routes for its Go service (INGEST_SECRET), beside any routes of the app's own. */
import { httpRouter } from "convex/server";
import { addHttpRoutes } from "@llmmeter/convex";
import * as llmmeterModule from "./llmmeter";

const http = httpRouter();
addHttpRoutes(http, { functions: llmmeterModule }); // a name missing from convex/llmmeter.ts fails the deploy
export default http;
