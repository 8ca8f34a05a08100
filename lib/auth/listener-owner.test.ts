import { test } from "node:test";
import assert from "node:assert/strict";
import { createServer } from "node:net";
import { foreignListener, listenerUidsFrom, loopbackListenerUids } from "./listener-owner.ts";

const HEADER = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode";
const row = (local: string, st: string, uid: number) => `   0: ${local} 00000000:0000 ${st} 00000000:00000000 00:00000000 00000000 ${uid}        0 1607 1 0 100 0 0 10 0`;

test("listeners on a port for loopback: 127.x, 0.0.0.0, ::1, :: and mapped v4; not another address, state or port", () => {
  const tcp = [HEADER,
    row("0100007F:13BA", "0A", 1000), // 127.0.0.1:5050 LISTEN
    row("0100007F:13BA", "01", 2000), // an established connection from that port
    row("0200000A:13BA", "0A", 3000), // 10.0.0.2:5050: not loopback
    row("00000000:13BB", "0A", 4000), // another port
  ].join("\n");
  assert.deepEqual(listenerUidsFrom([tcp], 5050), [1000]);
  assert.deepEqual(listenerUidsFrom([[HEADER, row("00000000:13BA", "0A", 65534)].join("\n")], 5050), [65534], "0.0.0.0 takes loopback too");
  const tcp6 = [HEADER,
    row("00000000000000000000000001000000:13BA", "0A", 7), // ::1
    row("00000000000000000000000000000000:13BA", "0A", 8), // ::
    row("0000000000000000FFFF00000100007F:13BA", "0A", 9), // ::ffff:127.0.0.1
    row("20010DB8000000000000000000000001:13BA", "0A", 10), // 2001:db8::1
  ].join("\n");
  assert.deepEqual(listenerUidsFrom([tcp6], 5050).sort(), [7, 8, 9]);
  assert.deepEqual(listenerUidsFrom([tcp, tcp6], 5051), [4000]);
  assert.deepEqual(listenerUidsFrom([tcp, tcp6], 5052), []);
});

test("this process's own listener is found with its uid; nobody's and our own are not foreign", async () => {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, "127.0.0.1", () => r()));
  const port = (srv.address() as { port: number }).port;
  try {
    assert.deepEqual(loopbackListenerUids(port), [process.getuid!()]);
    assert.equal(foreignListener(port, process.getuid!()), undefined);
    assert.match(foreignListener(port, process.getuid!() + 1)!, new RegExp(`listening on loopback port ${port} runs as uid ${process.getuid!()}, not as you`));
  } finally {
    srv.close();
  }
  assert.deepEqual(loopbackListenerUids(port), [], "closed: nobody listens");
});
