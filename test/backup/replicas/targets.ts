import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import S3rver from 's3rver';

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
    srv.on('error', reject);
  });
}

/** A real S3-compatible server (s3rver) on a loopback port, its objects in `dir`; stop and start it again on the same port and files. */
export class S3Target {
  #server: S3rver | null = null;

  private constructor(
    readonly dir: string,
    readonly port: number,
  ) {}

  static async start(dir: string): Promise<S3Target> {
    const t = new S3Target(dir, await freePort());
    await t.up();
    return t;
  }

  #started = false;

  async up(): Promise<void> {
    mkdirSync(this.dir, { recursive: true });
    // The bucket is made on the first start only: configuring it again would empty it.
    const buckets = this.#started ? {} : { configureBuckets: [{ name: 'backups', configs: [] }] };
    this.#server = new S3rver({ port: this.port, address: '127.0.0.1', directory: this.dir, silent: true, ...buckets });
    await this.#server.run();
    this.#started = true;
  }

  async down(): Promise<void> {
    await this.#server?.close();
    this.#server = null;
  }

  get input() {
    return {
      kind: 's3' as const,
      endpoint: `http://127.0.0.1:${this.port}`,
      bucket: 'backups',
      prefix: 'node-a',
      accessKeyId: 'S3RVER',
      secretAccessKey: 'S3RVER',
    };
  }
}

/**
 * A real sshd (Debian's openssh-server) on a loopback port, with a temporary host key, the current
 * user's temporary authorized key and its own config; `down` kills the daemon and every session it forked.
 */
export class SshTarget {
  #proc: ChildProcess | null = null;
  readonly user: string;
  readonly root: string;
  readonly hostKeySha256: string;
  readonly privateKey: string;

  private constructor(
    readonly dir: string,
    readonly port: number,
  ) {
    this.user = execFileSync('id', ['-un']).toString().trim();
    this.root = join(dir, 'files');
    mkdirSync(this.root, { recursive: true });
    for (const k of ['host', 'user']) execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(dir, k)]);
    writeFileSync(join(dir, 'authorized_keys'), readFileSync(join(dir, 'user.pub')), { mode: 0o600 });
    this.hostKeySha256 = /SHA256:(\S+)/.exec(execFileSync('ssh-keygen', ['-l', '-f', join(dir, 'host.pub')]).toString())?.[1] as string;
    this.privateKey = readFileSync(join(dir, 'user'), 'utf8');
    writeFileSync(
      join(dir, 'sshd_config'),
      [
        'ListenAddress 127.0.0.1',
        `HostKey ${join(dir, 'host')}`,
        `AuthorizedKeysFile ${join(dir, 'authorized_keys')}`,
        `PidFile ${join(dir, 'sshd.pid')}`,
        'UsePAM no',
        'StrictModes no',
        'PasswordAuthentication no',
        'PermitRootLogin prohibit-password',
        `AllowUsers ${this.user}`,
        'Subsystem sftp internal-sftp',
      ].join('\n'),
    );
    // Run as root, sshd wants its privilege-separation folder (the package's service makes it at boot).
    if (process.getuid?.() === 0) mkdirSync('/run/sshd', { recursive: true });
  }

  static async start(dir: string): Promise<SshTarget> {
    const t = new SshTarget(dir, await freePort());
    await t.up();
    return t;
  }

  async up(): Promise<void> {
    const proc = spawn('/usr/sbin/sshd', ['-D', '-e', '-f', join(this.dir, 'sshd_config'), '-p', String(this.port)], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    this.#proc = proc;
    await new Promise<void>((resolve, reject) => {
      let err = '';
      proc.stderr?.on('data', (d: Buffer) => {
        err += d.toString();
        if (err.includes('Server listening')) resolve();
      });
      proc.on('exit', (code) => reject(new Error(`sshd exited (${code}): ${err}`)));
    });
  }

  /** SIGKILL to the daemon and to each session process it forked (found by parent pid in /proc). */
  async down(): Promise<void> {
    const proc = this.#proc;
    if (proc?.pid === undefined) return;
    const pids = [proc.pid, ...descendants(proc.pid)];
    const exited = new Promise((resolve) => proc.once('exit', resolve));
    for (const pid of pids) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    await exited;
    this.#proc = null;
  }

  get input() {
    return {
      kind: 'sftp' as const,
      host: '127.0.0.1',
      port: this.port,
      username: this.user,
      path: this.root,
      hostKeySha256: this.hostKeySha256,
      privateKey: this.privateKey,
    };
  }
}

function descendants(pid: number): number[] {
  const children: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === pid) children.push(Number(entry), ...descendants(Number(entry)));
    } catch {
      // exited while we looked
    }
  }
  return children;
}
