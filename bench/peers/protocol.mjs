// The JSON-lines protocol every bench peer speaks (bench/w3.py and bench/w4.py drive it):
// one request per stdin line, one JSON reply per stdout line; "quit" ends the worker.
import { readFileSync } from "node:fs";
import { createInterface } from "node:readline";

export function hwmKb() {
  const m = /VmHWM:\s+(\d+)/.exec(readFileSync("/proc/self/status", "utf8"));
  return m ? Number(m[1]) : process.resourceUsage().maxRSS;
}

const send = (obj) => process.stdout.write(`${JSON.stringify(obj)}\n`);

// Answers "hwm" itself and hands every other request to `handle`; `run` replies share
// one shape: the time taken and [name, width, height, bytes] per output.
export function runReply(ms, outs) {
  return { ms, out: outs.map(([n, d, w, h]) => [n, w, h, d.length]) };
}

export async function serve(ready, handle) {
  send(ready);
  const rl = createInterface({ input: process.stdin });
  for await (const line of rl) {
    const req = JSON.parse(line);
    if (req.cmd === "quit") break;
    try {
      send(req.cmd === "hwm" ? { hwm_kb: hwmKb() } : await handle(req));
    } catch (err) {
      send({ error: String(err) });
    }
  }
  process.exit(0);
}
