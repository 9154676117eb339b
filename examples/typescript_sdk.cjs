// The official TypeScript SDK (npm `polymarket-us`), unmodified, against the mock server.
//
//   npm install polymarket-us        # once, next to this repository (or set NODE_PATH)
//   python -m mockserver run --dialect camel -- node examples/typescript_sdk.cjs
//
// `mockserver run` exports the server's URL and demo credentials; the SDK takes
// its WebSocket URL from `apiBaseUrl` (http://... becomes ws://...). The official
// SDKs read camelCase messages: the server must speak the camel dialect.
// Subscribes to everything, asks the server for a fill through the control API,
// and exits 0 once every event below has arrived (1 after 20 s otherwise).
"use strict";

const { PolymarketUS } = require("polymarket-us");

const control = process.env.PM_MOCKSERVER_CONTROL_URL;
const client = new PolymarketUS({
  keyId: process.env.POLYMARKET_KEY_ID,
  secretKey: process.env.POLYMARKET_SECRET_KEY,
  apiBaseUrl: control,
});

// SDK 0.1.1 dispatches position and balance *updates* only under older spellings
// (positionSubscriptionUpdate, accountBalanceSubscriptionUpdate, ...), not the
// documented positionSubscription and accountBalancesUpdate the server sends: those
// reach only its generic "message" event and are counted from there.
const WANTED = ["orderSnapshot", "orderUpdate", "accountBalanceSnapshot", "marketData", "marketDataLite",
  "trade", "heartbeat", "positionSubscription", "accountBalancesUpdate"];
const seen = new Map();
const TIMEOUT = Number(process.env.PM_EXAMPLE_TIMEOUT_MS || 20000);

function main() {
  const privateWs = client.ws.private();
  const marketsWs = client.ws.markets();
  let done;
  const finished = new Promise((resolve) => { done = resolve; });
  const count = (name) => () => {
    seen.set(name, (seen.get(name) || 0) + 1);
    if (WANTED.every((n) => seen.has(n))) done(true);
  };
  for (const name of ["orderSnapshot", "orderUpdate", "accountBalanceSnapshot", "heartbeat"]) {
    privateWs.on(name, count(name));
  }
  for (const name of ["marketData", "marketDataLite", "trade", "heartbeat"]) {
    marketsWs.on(name, count(name));
  }
  privateWs.on("message", (message) => {
    if ("positionSubscription" in message) count("positionSubscription")();
    if ("accountBalancesUpdate" in message) count("accountBalancesUpdate")();
  });
  const failures = [];
  privateWs.on("error", (e) => failures.push(`private: ${e.message || e}`));
  marketsWs.on("error", (e) => failures.push(`markets: ${e.message || e}`));

  return (async () => {
    await privateWs.connect();
    await marketsWs.connect();
    const slugs = await (await fetch(`${control}/control/markets`)).json();
    privateWs.subscribeOrders("orders");
    privateWs.subscribePositions("positions");
    privateWs.subscribeAccountBalance("balance");
    marketsWs.subscribeMarketData("book", slugs.slice(0, 1));
    marketsWs.subscribeMarketDataLite("lite", slugs.slice(0, 1));
    marketsWs.subscribeTrades("trades", slugs);
    // the subscriptions are live once the snapshots arrive; then one fill gives order, trade,
    // position and balance updates
    const started = Date.now();
    while (!(seen.has("orderSnapshot") && seen.has("accountBalanceSnapshot") && seen.has("marketData"))) {
      if (Date.now() - started > TIMEOUT) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    await fetch(`${control}/control/inject/fill`);
    const timer = setTimeout(() => done(false), TIMEOUT);
    const ok = await finished;
    clearTimeout(timer);
    privateWs.close();
    marketsWs.close();
    const summary = WANTED.map((n) => `${n}=${seen.get(n) || 0}`).join(" ");
    console.log(`${ok && failures.length === 0 ? "OK" : "MISSING"} ${summary}`);
    for (const f of failures) console.log(`error: ${f}`);
    return ok && failures.length === 0 ? 0 : 1;
  })();
}

main().then((status) => process.exit(status), (e) => {
  console.error(`typescript_sdk: ${e.stack || e}`);
  process.exit(1);
});
