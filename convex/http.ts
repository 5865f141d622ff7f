/** The deployment's HTTP routes: llmmeter's signed routes for the Go service (INGEST_SECRET). */
import { httpRouter } from "convex/server";
import { addHttpRoutes } from "@llmmeter/convex";
import * as llmmeterModule from "./llmmeter";

const http = httpRouter();
addHttpRoutes(http, { functions: llmmeterModule }); // a name missing from convex/llmmeter.ts fails the deploy
export default http;
