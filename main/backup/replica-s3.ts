import { createReadStream, createWriteStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { DeleteObjectCommand, GetObjectCommand, ListObjectsV2Command, NoSuchKey, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { checkName, isReplicaName, type ReplicaTransport } from './replica-transport';

export interface S3Target {
  /** `http(s)://<address>:<port>`, the address the outbound-reach check approved. */
  readonly endpoint: string;
  readonly bucket: string;
  /** Folder-like prefix inside the bucket, without a trailing slash ('' for the bucket's root). */
  readonly prefix: string;
  readonly region: string;
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
}

/** S3-compatible storage (AWS, MinIO, Garage, s3rver...): one object a file; a PUT is whole or absent. */
export class S3Transport implements ReplicaTransport {
  readonly #client: S3Client;

  constructor(private readonly target: S3Target) {
    this.#client = new S3Client({
      endpoint: target.endpoint,
      region: target.region,
      forcePathStyle: true,
      credentials: { accessKeyId: target.accessKeyId, secretAccessKey: target.secretAccessKey },
      // A target that went away fails the sync fast; the next sync resumes from what arrived.
      maxAttempts: 2,
      // No trailing checksums (aws-chunked uploads): many S3-compatible servers store the framing as data.
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
    });
  }

  #key(name: string): string {
    return this.target.prefix === '' ? checkName(name) : `${this.target.prefix}/${checkName(name)}`;
  }

  async list(): Promise<Map<string, number>> {
    const out = new Map<string, number>();
    const strip = this.target.prefix === '' ? 0 : this.target.prefix.length + 1;
    let token: string | undefined;
    do {
      const page = await this.#client.send(
        new ListObjectsV2Command({
          Bucket: this.target.bucket,
          ...(this.target.prefix === '' ? {} : { Prefix: `${this.target.prefix}/` }),
          ...(token === undefined ? {} : { ContinuationToken: token }),
        }),
      );
      for (const o of page.Contents ?? []) {
        const name = (o.Key ?? '').slice(strip);
        if (isReplicaName(name)) out.set(name, o.Size ?? 0);
      }
      token = page.IsTruncated === true ? page.NextContinuationToken : undefined;
    } while (token !== undefined);
    return out;
  }

  async put(name: string, localPath: string): Promise<number> {
    const size = (await stat(localPath)).size;
    await this.#client.send(
      new PutObjectCommand({ Bucket: this.target.bucket, Key: this.#key(name), Body: createReadStream(localPath), ContentLength: size }),
    );
    return size;
  }

  async putBytes(name: string, bytes: Buffer): Promise<void> {
    await this.#client.send(new PutObjectCommand({ Bucket: this.target.bucket, Key: this.#key(name), Body: bytes }));
  }

  async read(name: string, offset: number, length: number): Promise<Buffer> {
    const r = await this.#client.send(
      new GetObjectCommand({ Bucket: this.target.bucket, Key: this.#key(name), Range: `bytes=${offset}-${offset + length - 1}` }),
    );
    return Buffer.from(await (r.Body as { transformToByteArray(): Promise<Uint8Array> }).transformToByteArray());
  }

  async getBytes(name: string): Promise<Buffer | null> {
    try {
      const r = await this.#client.send(new GetObjectCommand({ Bucket: this.target.bucket, Key: this.#key(name) }));
      return Buffer.from(await (r.Body as { transformToByteArray(): Promise<Uint8Array> }).transformToByteArray());
    } catch (err) {
      if (err instanceof NoSuchKey || (err as { name?: string }).name === 'NoSuchKey') return null;
      throw err;
    }
  }

  async get(name: string, localPath: string): Promise<void> {
    const r = await this.#client.send(new GetObjectCommand({ Bucket: this.target.bucket, Key: this.#key(name) }));
    await pipeline(r.Body as Readable, createWriteStream(localPath, { mode: 0o600 }));
  }

  async remove(name: string): Promise<void> {
    await this.#client.send(new DeleteObjectCommand({ Bucket: this.target.bucket, Key: this.#key(name) }));
  }

  async close(): Promise<void> {
    this.#client.destroy();
  }
}
