/** The deployment's HTTP routes: llmmeter's signed routes for the Go service (INGEST_SECRET). */
import { httpRouter } from "convex/server";
import { addHttpRoutes } from "@llmmeter/convex";

const http = httpRouter();
addHttpRoutes(http);
export default http;
