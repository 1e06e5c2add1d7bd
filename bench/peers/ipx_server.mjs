// ipx (the sharp-based optimizer behind Nuxt Image) as a plain Node HTTP server over a
// folder, for bench/ondemand.py: `node ipx_server.mjs DIR PORT`. Prints its URL once
// listening; stops on SIGINT/SIGTERM. Threads: the driver sets UV_THREADPOOL_SIZE=1 and
// VIPS_CONCURRENCY=1 (sharp reads the latter at start-up) so sharp renders on one thread,
// as thumbsmith's render child does.
import { createServer } from "node:http";
import { createIPX, createIPXNodeServer, ipxFSStorage } from "ipx";

const [dir, port] = process.argv.slice(2);
const ipx = createIPX({ storage: ipxFSStorage({ dir }) });
const server = createServer(createIPXNodeServer(ipx));
server.keepAliveTimeout = 60_000;
server.listen(Number(port), "127.0.0.1", () => {
  console.log(`ipx listening on http://127.0.0.1:${port}`);
});
for (const signal of ["SIGINT", "SIGTERM"]) {
  process.on(signal, () => server.close(() => process.exit(0)));
}
