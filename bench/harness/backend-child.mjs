// A loopback HTTP backend in its own process (so the server's CPU is not charged to the
// client being measured). Listens on 127.0.0.1 on `count` ports; each answers 200 with a
// small body naming the port's label. Reports its ports over IPC, exits on disconnect.
import { createServer } from 'node:http';

const labels = (process.argv[2] ?? 'a').split(',');
const servers = [];
const ports = {};
for (const label of labels) {
  const body = Buffer.from(label);
  const server = createServer((req, res) => {
    // Drain any request body, then answer.
    req.resume();
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'text/plain', 'content-length': body.length });
      res.end(body);
    });
  });
  server.keepAliveTimeout = 60_000;
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  ports[label] = server.address().port;
  servers.push(server);
}
process.send({ ports });
process.on('disconnect', () => process.exit(0));
