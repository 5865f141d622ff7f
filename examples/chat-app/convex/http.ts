/** llmmeter's signed routes for its Go service (INGEST_SECRET), beside any routes of the app's own. */
import { httpRouter } from "convex/server";
import { addHttpRoutes } from "@llmmeter/convex";

const http = httpRouter();
addHttpRoutes(http);
export default http;
