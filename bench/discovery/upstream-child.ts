import { createServer } from 'node:http';

/**
 * Child process for the discovery bench: `count` tiny HTTP servers on 127.0.0.1 answering 200 "ok"
 * (the same for the gateway, its baseline and the health checks). Prints their ports as one JSON
 * line, then serves until killed.
 */
const count = Number(process.argv[2] ?? '1');
async function main(): Promise<void> {
  const ports: number[] = [];
  for (let i = 0; i < count; i += 1) {
    const server = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain', 'content-length': '2' });
      res.end('ok');
    });
    server.keepAliveTimeout = 60_000;
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    ports.push((server.address() as { port: number }).port);
  }
  process.stdout.write(`${JSON.stringify({ ports })}\n`);
}

void main();
