import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestPlane, type TestPlane } from '../helpers/control-plane';
import { tempDir } from '../helpers/temp-dir';

const repo = resolve(import.meta.dirname, '../..');
const here = import.meta.dirname;

/** Runs node in the consumer folder without blocking this process (it hosts the server the program talks to). */
function runNode(
  args: string[],
  cwd: string,
  env: Record<string, string>,
): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((done) => {
    const child = spawn(process.execPath, args, { cwd, env: { ...process.env, ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('close', (status) => {
      clearTimeout(timer);
      done({ status, stdout, stderr });
    });
  });
}

/**
 * The client as a LAN program gets it: built, packed with `npm pack`, installed from the tarball
 * into an empty folder (offline: it depends on nothing), and run against a live server.
 */
describe('the packed client against a live server', () => {
  let plane: TestPlane;
  let consumer: { path: string; remove: () => void };
  let programKey: string;

  beforeAll(async () => {
    plane = await startTestPlane();
    // A job type that reports its progress in steps, for the client to follow.
    plane.plane.running.batch.queue.register('test.count', async (payload, ctx) => {
      const steps = (payload as { steps: number }).steps;
      for (let i = 1; i <= steps; i += 1) {
        await new Promise((r) => setTimeout(r, 30));
        ctx.progress(i / steps, `step ${i}`);
      }
      return { counted: steps };
    });
    programKey = (await plane.op('keys.create', { name: 'packed program', role: 'operator' })).body.secret;

    execFileSync(process.execPath, ['--import', 'tsx', join(repo, 'client/build.ts')], { cwd: repo, stdio: 'pipe' });
    consumer = tempDir('ph-consumer-');
    const packed = JSON.parse(
      execFileSync('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', consumer.path], {
        cwd: join(repo, 'client'),
      }).toString(),
    ) as { filename: string }[];
    writeFileSync(join(consumer.path, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module' }));
    execFileSync('npm', ['install', '--offline', '--no-audit', '--no-fund', '--ignore-scripts', `./${packed[0]?.filename}`], {
      cwd: consumer.path,
      stdio: 'pipe',
    });
    copyFileSync(join(here, 'consumer.mjs'), join(consumer.path, 'consumer.mjs'));
    copyFileSync(join(here, 'consumer-types.fixture.ts.txt'), join(consumer.path, 'consumer-types.ts'));
  }, 120_000);
  afterAll(async () => {
    await plane?.stop();
    consumer?.remove();
  });

  it('installs with nothing but its own files: no dependencies, a bundle and its declarations', () => {
    const manifest = JSON.parse(readFileSync(join(consumer.path, 'node_modules/@pilothouse/client/package.json'), 'utf8'));
    expect(manifest.dependencies).toBeUndefined();
    const installed = readFileSync(join(consumer.path, 'package-lock.json'), 'utf8');
    expect(Object.keys(JSON.parse(installed).packages)).toEqual(['', 'node_modules/@pilothouse/client']);
  });

  // tsc loads the DOM library for the consumer: seconds, tens of them on a loaded two-core machine.
  it('types a consumer from the installed declarations alone, and refuses input the contract refuses', { timeout: 90_000 }, () => {
    const compilerOptions = {
      strict: true,
      noEmit: true,
      target: 'es2022',
      module: 'esnext',
      moduleResolution: 'bundler',
      lib: ['es2022', 'dom'],
      types: [],
      // Skips checking the .d.ts files themselves (the DOM library is most of the time); a type the
      // package could not resolve would still turn into `any` and leave the @ts-expect-error unused, an error.
      skipLibCheck: true,
    };
    writeFileSync(join(consumer.path, 'tsconfig.json'), JSON.stringify({ compilerOptions, files: ['consumer-types.ts'] }));
    const tsc = spawnSync(process.execPath, [join(repo, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.json'], {
      cwd: consumer.path,
      encoding: 'utf8',
    });
    expect(tsc.stdout + tsc.stderr).toBe('');
    expect(tsc.status).toBe(0);
  });

  it('registers a service with heartbeats, follows a job to its end, keeps its cache L1 coherent, hears a room, and deregisters on close', async () => {
    // Node 20 has WebSocket behind a flag; browsers and Node 22 have it built in.
    const flags = typeof (globalThis as { WebSocket?: unknown }).WebSocket === 'function' ? [] : ['--experimental-websocket'];
    const run = await runNode([...flags, 'consumer.mjs'], consumer.path, { PH_URL: plane.url, PH_KEY: programKey, NODE_OPTIONS: '' });
    expect(run.status, run.stderr).toBe(0);
    const out = JSON.parse(run.stdout.trim().split('\n').at(-1) as string);
    expect(out.lastHeartbeatAt).not.toBeNull();
    expect(out.state).toBe('passing');
    expect(out.progress).toEqual([0.25, 0.5, 0.75, 1]);
    expect(out.jobEnd).toBe('completed');
    expect(out.first).toEqual({ v: 1 });
    expect(out.l1AfterRead).toBeGreaterThan(0);
    expect(out.afterOtherWrite).toEqual({ v: 2 });
    expect(out.missing).toBeUndefined();
    expect(out.error).toEqual({ name: 'NotFoundError', code: 'PH_BATCH_JOB_NOT_FOUND', isNotFound: true });
    expect(out.roomMessage).toEqual({ hello: 'room' });
  });

  it('talks HTTPS and WSS to a node with a self-signed certificate it trusts through NODE_EXTRA_CA_CERTS, and refuses it without', async () => {
    const secure = await startTestPlane({ tlsSelfSigned: true });
    try {
      copyFileSync(join(here, 'tls-consumer.mjs'), join(consumer.path, 'tls-consumer.mjs'));
      const flags = typeof (globalThis as { WebSocket?: unknown }).WebSocket === 'function' ? [] : ['--experimental-websocket'];
      const env = { PH_URL: secure.url, PH_KEY: secure.adminKey, NODE_OPTIONS: '' };
      const trusted = await runNode([...flags, 'tls-consumer.mjs'], consumer.path, {
        ...env,
        NODE_EXTRA_CA_CERTS: join(secure.dataDir, 'tls', 'cert.pem'),
      });
      expect(trusted.status, trusted.stderr).toBe(0);
      const out = JSON.parse(trusted.stdout.trim().split('\n').at(-1) as string);
      expect(out.message).toEqual({ over: 'wss' });
      expect(out.tls).toMatchObject({ enabled: true, selfSigned: true });
      const untrusted = await runNode([...flags, 'tls-consumer.mjs'], consumer.path, env);
      expect(untrusted.status).not.toBe(0);
      expect(untrusted.stderr).toMatch(/self[- ]signed|certificate/i);
    } finally {
      await secure.stop();
    }
  });

  it('left no instance behind: close() deregistered it', async () => {
    const { body } = await plane.op('services.list', { name: 'packed-svc' });
    expect(body.instances).toEqual([]);
  });
});
