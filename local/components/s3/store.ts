/**
 * File-system storage for the local S3 endpoint. Keys may hold any character (slashes, `..`,
 * a key that is also another key's prefix), so objects are stored under a hash of the key, with
 * a JSON metadata file that names the current data file; replacing that JSON by rename makes
 * every overwrite atomic for concurrent readers.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, type ReadStream } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';

export interface ObjectMeta {
  key: string;
  size: number;
  /** Quoted, as S3 sends it. */
  etag: string;
  lastModified: string;
  contentType: string;
  /** Stored representation headers (cache-control, content-disposition, ...), lower-case names. */
  headers: Record<string, string>;
  /** x-amz-meta-* values, names without the prefix. */
  userMetadata: Record<string, string>;
  /** Client-supplied checksums by algorithm, base64. */
  checksums: Record<string, string>;
  /** Data file name inside the bucket's objects directory. */
  dataFile: string;
}

/** bucket.json: its presence is what makes a directory a bucket. */
interface BucketInfo {
  name: string;
  creationDate: string;
}

const isMissing = (err: unknown) => (err as NodeJS.ErrnoException).code === 'ENOENT';

export class ObjectStore {
  private readonly bucketsDir: string;
  private readonly tmpDir: string;

  constructor(root: string) {
    this.bucketsDir = path.join(root, 'buckets');
    this.tmpDir = path.join(root, 'tmp');
  }

  async init(): Promise<void> {
    await fs.mkdir(this.bucketsDir, { recursive: true });
    // Leftovers of uploads interrupted by a crash are never referenced by any metadata.
    await fs.rm(this.tmpDir, { recursive: true, force: true });
    await fs.mkdir(this.tmpDir, { recursive: true });
  }

  /** A fresh path for an upload in progress, on the same file system as the buckets (rename stays atomic). */
  tempFile(): string {
    return path.join(this.tmpDir, `upload-${randomBytes(8).toString('hex')}`);
  }

  /**
   * `name` as an entry of `dir`. Names come from requests (a bucket) or from metadata on disk (a
   * data file): the endpoint validates the first, but a path that would resolve anywhere else than
   * directly inside `dir` is refused here too, so no name can reach outside the store.
   */
  private entryOf(dir: string, name: string): string {
    const resolved = path.resolve(dir, name);
    if (path.dirname(resolved) !== path.resolve(dir)) throw new Error(`refusing ${JSON.stringify(name)}: it resolves outside the store`);
    return resolved;
  }

  private bucketDir(bucket: string): string {
    return this.entryOf(this.bucketsDir, bucket);
  }

  private objectsDir(bucket: string): string {
    return path.join(this.bucketDir(bucket), 'objects');
  }

  private metaPath(bucket: string, key: string): string {
    return path.join(this.objectsDir(bucket), `${createHash('sha256').update(key).digest('hex')}.json`);
  }

  async bucketExists(bucket: string): Promise<boolean> {
    try {
      await fs.access(path.join(this.bucketDir(bucket), 'bucket.json'));
      return true;
    } catch (err) {
      if (isMissing(err)) return false;
      throw err;
    }
  }

  /** Resolves false when the bucket already existed. */
  async createBucket(bucket: string): Promise<boolean> {
    if (await this.bucketExists(bucket)) return false;
    await fs.mkdir(this.objectsDir(bucket), { recursive: true });
    const info: BucketInfo = { name: bucket, creationDate: new Date().toISOString() };
    await this.writeJsonAtomically(path.join(this.bucketDir(bucket), 'bucket.json'), info);
    return true;
  }

  async head(bucket: string, key: string): Promise<ObjectMeta | undefined> {
    try {
      return JSON.parse(await fs.readFile(this.metaPath(bucket, key), 'utf8')) as ObjectMeta;
    } catch (err) {
      if (isMissing(err)) return undefined;
      throw err;
    }
  }

  /**
   * Open the object's bytes (optionally a byte range, inclusive). Retries once when an overwrite
   * removed the data file between reading the metadata and opening it.
   */
  async open(
    bucket: string,
    key: string,
    range?: { start: number; end: number },
  ): Promise<{ meta: ObjectMeta; stream: ReadStream } | undefined> {
    for (let attempt = 0; attempt < 2; attempt++) {
      const meta = await this.head(bucket, key);
      if (!meta) return undefined;
      const file = this.entryOf(this.objectsDir(bucket), meta.dataFile);
      try {
        const handle = await fs.open(file, 'r');
        return { meta, stream: createReadStream('', { fd: handle, ...range }) };
      } catch (err) {
        if (!isMissing(err)) throw err;
      }
    }
    return undefined;
  }

  /** Make `tempFile` the object's content, replacing any previous version atomically. */
  async commit(bucket: string, key: string, tempFile: string, meta: Omit<ObjectMeta, 'dataFile' | 'key'>): Promise<ObjectMeta> {
    const previous = await this.head(bucket, key);
    const metaPath = this.metaPath(bucket, key);
    const dataFile = `${path.basename(metaPath, '.json')}.${randomBytes(6).toString('hex')}.data`;
    await fs.rename(tempFile, this.entryOf(this.objectsDir(bucket), dataFile));
    const full: ObjectMeta = { ...meta, key, dataFile };
    await this.writeJsonAtomically(metaPath, full);
    if (previous && previous.dataFile !== dataFile) await fs.rm(this.entryOf(this.objectsDir(bucket), previous.dataFile), { force: true });
    return full;
  }

  private async writeJsonAtomically(file: string, value: unknown): Promise<void> {
    const tmp = this.tempFile();
    await fs.writeFile(tmp, JSON.stringify(value));
    await fs.rename(tmp, file);
  }
}
