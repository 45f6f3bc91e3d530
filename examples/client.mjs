// The typed client (`edgebus/client`: openapi-fetch over types generated from /openapi.json):
// publishes an event, reads it back from its partition, and lists the tenant's subscriptions.
// Run from this repository (`edgebus/client` resolves through package.json "exports"):
//
//   EDGEBUS_URL=http://127.0.0.1:8787 EDGEBUS_API_KEY=dev-api-key node examples/client.mjs
//
// In TypeScript the same calls are checked against the document: paths, bodies and responses.
import { createClient, EdgebusError, unwrap } from "edgebus/client";

const edgebus = createClient({
  url: process.env.EDGEBUS_URL ?? "http://127.0.0.1:8787",
  apiKey: process.env.EDGEBUS_API_KEY ?? "dev-api-key",
});

try {
  // unwrap() returns the data of a 2xx answer and throws EdgebusError (status, code, problem) otherwise.
  const published = await unwrap(
    edgebus.POST("/events", { body: { type: "order.created", partitionKey: "order-client-1", data: { orderId: "order-client-1" } } }),
  );
  console.log(`published ${published.eventId} sequence=${published.sequence}`);

  const page = await unwrap(
    edgebus.GET("/partitions/{key}/events", {
      params: { path: { key: published.partitionKey }, query: { after: published.sequence - 1, limit: 1 } },
    }),
  );
  console.log(`read back ${page.events[0]?.type} ${page.events[0]?.id}`);

  // Without unwrap: { data, error, response }, error being the problem+json body.
  const { data, error } = await edgebus.GET("/subscriptions");
  if (error) console.error(`${error.code}: ${error.detail}`);
  else console.log(`${data.subscriptions.length} subscription(s)`);
} catch (err) {
  if (!(err instanceof EdgebusError)) throw err;
  console.error(`${err.status} ${err.code}: ${err.problem?.detail ?? err.message}`);
  process.exitCode = 1;
}
