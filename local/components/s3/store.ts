/**
 * File-system storage for the local S3 endpoint. Keys may hold any character (slashes, `..`,
 * a key that is also another key's prefix), so objects are stored under a hash of the key, with
 * a JSON metadata file that names the current data file; replacing that JSON by rename makes
 * every overwrite atomic for concurrent readers. Multipart uploads in progress keep their parts
 * the same way, one directory per upload, until they are completed into an object or aborted.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream, type ReadStream } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';

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

/** What an object is given when its upload starts: the representation the completed object will have. */
export type Representation = Pick<ObjectMeta, 'contentType' | 'headers' | 'userMetadata'>;

/** upload.json: a multipart upload in progress. */
export interface UploadInfo {
  uploadId: string;
  bucket: string;
  key: string;
  representation: Representation;
}

export interface PartMeta {
  partNumber: number;
  size: number;
  /** Quoted MD5 hex, as S3 sends it. */
  etag: string;
  lastModified: string;
  /** Client-supplied checksums by algorithm, base64. */
  checksums: Record<string, string>;
  /** Data file name inside the upload's directory. */
  dataFile: string;
}

/** bucket.json: its presence is what makes a directory a bucket. */
interface BucketInfo {
  name: string;
  creationDate: string;
}

const isMissing = (err: unknown) => (err as NodeJS.ErrnoException).code === 'ENOENT';

/** A JSON file's content, or undefined when there is no such file. */
async function readJsonIfPresent<T>(file: string): Promise<T | undefined> {
  try {
    return JSON.parse(await fs.readFile(file, 'utf8')) as T;
  } catch (err) {
    if (isMissing(err)) return undefined;
    throw err;
  }
}
/** The upload ids this store hands out; anything else names no upload, and never a path. */
const UPLOAD_ID = /^[0-9a-f]{32}$/;
const UPLOAD_INFO = 'upload.json';

export class ObjectStore {
  private readonly bucketsDir: string;
  private readonly uploadsDir: string;
  private readonly tmpDir: string;

  constructor(root: string) {
    this.bucketsDir = path.join(root, 'buckets');
    this.uploadsDir = path.join(root, 'uploads');
    this.tmpDir = path.join(root, 'tmp');
  }

  async init(): Promise<void> {
    await fs.mkdir(this.bucketsDir, { recursive: true });
    await fs.mkdir(this.uploadsDir, { recursive: true });
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
    return readJsonIfPresent<ObjectMeta>(this.metaPath(bucket, key));
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

  /** Start a multipart upload; its parts live in their own directory until it is completed or aborted. */
  async createUpload(info: Omit<UploadInfo, 'uploadId'>): Promise<UploadInfo> {
    const upload: UploadInfo = { uploadId: randomBytes(16).toString('hex'), ...info };
    const dir = this.uploadDir(upload.uploadId);
    await fs.mkdir(dir);
    await this.writeJsonAtomically(this.entryOf(dir, UPLOAD_INFO), upload);
    return upload;
  }

  /** The upload in progress with this id; undefined once completed or aborted, or for an id this store never gave. */
  async upload(uploadId: string): Promise<UploadInfo | undefined> {
    if (!UPLOAD_ID.test(uploadId)) return undefined;
    return readJsonIfPresent<UploadInfo>(this.entryOf(this.uploadDir(uploadId), UPLOAD_INFO));
  }

  /**
   * Make `tempFile` the part's content, replacing an earlier upload of the same part number.
   * Resolves undefined when the upload was completed or aborted meanwhile.
   */
  async commitPart(
    uploadId: string,
    partNumber: number,
    tempFile: string,
    meta: Omit<PartMeta, 'dataFile' | 'partNumber'>,
  ): Promise<PartMeta | undefined> {
    const dir = this.uploadDir(uploadId);
    const metaPath = this.entryOf(dir, `part-${partNumber}.json`);
    const dataFile = `part-${partNumber}.${randomBytes(6).toString('hex')}.data`;
    try {
      const previous = await this.readPart(metaPath);
      await fs.rename(tempFile, this.entryOf(dir, dataFile));
      const full: PartMeta = { ...meta, partNumber, dataFile };
      await this.writeJsonAtomically(metaPath, full);
      if (previous) await fs.rm(this.entryOf(dir, previous.dataFile), { force: true });
      return full;
    } catch (err) {
      if (isMissing(err)) return undefined;
      throw err;
    }
  }

  /** The parts uploaded so far, by part number. */
  async parts(uploadId: string): Promise<PartMeta[]> {
    const dir = this.uploadDir(uploadId);
    let names: string[];
    try {
      names = await fs.readdir(dir);
    } catch (err) {
      if (isMissing(err)) return [];
      throw err;
    }
    const parts: PartMeta[] = [];
    for (const name of names.filter((n) => /^part-\d+\.json$/.test(n))) {
      const part = await this.readPart(this.entryOf(dir, name));
      if (part) parts.push(part);
    }
    return parts.sort((a, b) => a.partNumber - b.partNumber);
  }

  /**
   * Complete the upload: its `parts`, in that order, become the object's content (streamed from
   * disk into one file, then committed like any upload) and the upload is gone. Resolves undefined
   * when it was completed or aborted meanwhile.
   */
  async completeUpload(upload: UploadInfo, parts: PartMeta[], meta: Omit<ObjectMeta, 'dataFile' | 'key'>): Promise<ObjectMeta | undefined> {
    const dir = this.uploadDir(upload.uploadId);
    const files = parts.map((part) => this.entryOf(dir, part.dataFile));
    async function* concatenated(): AsyncGenerator<Buffer> {
      for (const file of files) yield* createReadStream(file);
    }
    const temp = this.tempFile();
    try {
      await pipeline(concatenated(), createWriteStream(temp));
      const object = await this.commit(upload.bucket, upload.key, temp, meta);
      await fs.rm(dir, { recursive: true, force: true });
      return object;
    } catch (err) {
      if (isMissing(err)) return undefined;
      throw err;
    } finally {
      await fs.rm(temp, { force: true });
    }
  }

  /** Remove the upload and its parts; resolves false when there was no such upload. */
  async abortUpload(uploadId: string): Promise<boolean> {
    if (!(await this.upload(uploadId))) return false;
    await fs.rm(this.uploadDir(uploadId), { recursive: true, force: true });
    return true;
  }

  private uploadDir(uploadId: string): string {
    return this.entryOf(this.uploadsDir, uploadId);
  }

  private async readPart(metaPath: string): Promise<PartMeta | undefined> {
    return readJsonIfPresent<PartMeta>(metaPath);
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

  /** Removes the object; false when there was none. */
  async remove(bucket: string, key: string): Promise<boolean> {
    const previous = await this.head(bucket, key);
    if (!previous) return false;
    await fs.rm(this.metaPath(bucket, key), { force: true });
    await fs.rm(this.entryOf(this.objectsDir(bucket), previous.dataFile), { force: true });
    return true;
  }

  private async writeJsonAtomically(file: string, value: unknown): Promise<void> {
    const tmp = this.tempFile();
    try {
      await fs.writeFile(tmp, JSON.stringify(value));
      await fs.rename(tmp, file);
    } finally {
      // Gone after a successful rename; left behind only when the target directory vanished (an aborted upload).
      await fs.rm(tmp, { force: true });
    }
  }
}
