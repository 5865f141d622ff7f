/** The chat app's router: its own route and llmmeter's signed ones. */
import { httpActionGeneric, httpRouter } from "convex/server";
import { addHttpRoutes } from "../../src";

const http = httpRouter();
http.route({ path: "/hello", method: "GET", handler: httpActionGeneric(async () => new Response("hi")) });
addHttpRoutes(http);
export default http;
