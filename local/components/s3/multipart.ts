/**
 * S3's multipart upload rules, apart from HTTP and storage: part numbers, the CompleteMultipartUpload
 * document, which of the uploaded parts a completion may use, and the ETag and checksums of the
 * completed object.
 */
import { createHash } from 'node:crypto';
import { digestFor } from './payload';
import type { PartMeta } from './store';
import { S3Error, unescapeXml, xmlElement } from './xml';

/** Every part but the last must be at least this big. */
export const MIN_PART_SIZE = 5 * 1024 * 1024;
const MAX_PART_NUMBER = 10_000;

/** A part as a CompleteMultipartUpload document lists it. */
export interface ListedPart {
  partNumber: number;
  etag: string;
  /** Checksums the client listed for the part, by algorithm (`crc32`...), base64. */
  checksums: Record<string, string>;
}

/** S3's element names for checksums, by the algorithm names of the x-amz-checksum-* headers. */
const CHECKSUM_ELEMENTS: Record<string, string> = {
  crc32: 'ChecksumCRC32',
  crc32c: 'ChecksumCRC32C',
  crc64nvme: 'ChecksumCRC64NVME',
  sha1: 'ChecksumSHA1',
  sha256: 'ChecksumSHA256',
};
const PART_ELEMENTS = new Set(['PartNumber', 'ETag', ...Object.values(CHECKSUM_ELEMENTS)]);

export function noSuchUpload(uploadId: string): S3Error {
  return new S3Error(
    404,
    'NoSuchUpload',
    'The specified upload does not exist. The upload ID may be invalid, or the upload may have been aborted or completed.',
    { UploadId: uploadId },
  );
}

/** UploadPart's partNumber query parameter. */
export function partNumberOf(value: string | undefined): number {
  if (value === undefined || !/^\d{1,5}$/.test(value) || Number(value) < 1 || Number(value) > MAX_PART_NUMBER) {
    throw new S3Error(400, 'InvalidArgument', `Part number must be an integer between 1 and ${MAX_PART_NUMBER}, inclusive`, {
      ArgumentName: 'partNumber',
      ArgumentValue: value ?? '',
    });
  }
  return Number(value);
}

const malformedXml = () =>
  new S3Error(400, 'MalformedXML', 'The XML you provided was not well-formed or did not validate against our published schema');

/**
 * The parts a CompleteMultipartUpload document lists, in the order listed. The document is small
 * and flat, so it is read by its schema rather than by a general XML parser: anything else in it
 * is S3's MalformedXML.
 */
export function parseCompletion(xml: string): ListedPart[] {
  const root = /^\s*(?:<\?xml[^>]*\?>\s*)?<CompleteMultipartUpload(?:\s[^>]*)?>([\s\S]*)<\/CompleteMultipartUpload>\s*$/.exec(xml);
  if (!root) throw malformedXml();
  const parts: ListedPart[] = [];
  const rest = root[1].replace(/<Part>([\s\S]*?)<\/Part>/g, (_, inner: string) => {
    parts.push(parsePart(inner));
    return '';
  });
  if (rest.trim() !== '' || parts.length === 0) throw malformedXml();
  return parts;
}

function parsePart(inner: string): ListedPart {
  const elements = new Map<string, string>();
  const rest = inner.replace(/<(\w+)>([^<]*)<\/\1>/g, (_, name: string, text: string) => {
    if (!PART_ELEMENTS.has(name) || elements.has(name)) throw malformedXml();
    elements.set(name, unescapeXml(text).trim());
    return '';
  });
  const partNumber = elements.get('PartNumber');
  const etag = elements.get('ETag');
  if (rest.trim() !== '' || partNumber === undefined || !/^\d+$/.test(partNumber) || etag === undefined) throw malformedXml();
  const checksums: Record<string, string> = {};
  for (const [algorithm, element] of Object.entries(CHECKSUM_ELEMENTS)) {
    const value = elements.get(element);
    if (value !== undefined) checksums[algorithm] = value;
  }
  return { partNumber: Number(partNumber), etag, checksums };
}

/** S3 compares ETags with or without their quotes. */
const unquote = (etag: string) => etag.replace(/^"(.*)"$/, '$1');

/**
 * The uploaded parts that `listed` names, in order, checked as S3 checks a completion: part
 * numbers ascending, each part uploaded with that ETag (and those checksums, where listed), and
 * every part but the last at least MIN_PART_SIZE.
 */
export function partsToComplete(uploadId: string, listed: ListedPart[], uploaded: PartMeta[]): PartMeta[] {
  const byNumber = new Map(uploaded.map((part) => [part.partNumber, part]));
  const chosen: PartMeta[] = [];
  let previous = 0;
  for (const wanted of listed) {
    if (wanted.partNumber <= previous) {
      throw new S3Error(400, 'InvalidPartOrder', 'The list of parts was not in ascending order. Parts must be ordered by part number.', {
        UploadId: uploadId,
      });
    }
    previous = wanted.partNumber;
    const part = byNumber.get(wanted.partNumber);
    const sameChecksums = (p: PartMeta) => Object.entries(wanted.checksums).every(([algorithm, value]) => p.checksums[algorithm] === value);
    if (!part || unquote(part.etag) !== unquote(wanted.etag) || !sameChecksums(part)) {
      throw new S3Error(
        400,
        'InvalidPart',
        "One or more of the specified parts could not be found.  The part may not have been uploaded, or the specified entity tag may not have matched the part's entity tag.",
        { UploadId: uploadId, PartNumber: String(wanted.partNumber), ETag: wanted.etag },
      );
    }
    chosen.push(part);
  }
  const tooSmall = chosen.slice(0, -1).find((part) => part.size < MIN_PART_SIZE);
  if (tooSmall) {
    throw new S3Error(400, 'EntityTooSmall', 'Your proposed upload is smaller than the minimum allowed size', {
      ProposedSize: String(tooSmall.size),
      MinSizeAllowed: String(MIN_PART_SIZE),
      PartNumber: String(tooSmall.partNumber),
      ETag: tooSmall.etag,
    });
  }
  return chosen;
}

/** S3's ETag of a multipart object: the MD5 of the parts' binary MD5s, then `-<number of parts>`. */
export function multipartEtag(parts: PartMeta[]): string {
  const md5 = createHash('md5');
  for (const part of parts) md5.update(Buffer.from(unquote(part.etag), 'hex'));
  return `"${md5.digest('hex')}-${parts.length}"`;
}

/**
 * The completed object's checksums, composite as S3 makes them: for each algorithm every part
 * carries, the checksum of the parts' binary checksums, then `-<number of parts>`. Algorithms Node
 * cannot compute (crc32c, crc64nvme) are left out, and so is a full-object checksum a client may
 * have asked for with x-amz-checksum-type.
 */
export function compositeChecksums(parts: PartMeta[]): Record<string, string> {
  const checksums: Record<string, string> = {};
  for (const algorithm of Object.keys(parts[0]?.checksums ?? {})) {
    const digest = digestFor(algorithm);
    if (!digest || !parts.every((part) => part.checksums[algorithm] !== undefined)) continue;
    for (const part of parts) digest.update(Buffer.from(part.checksums[algorithm], 'base64'));
    checksums[algorithm] = `${digest.base64()}-${parts.length}`;
  }
  return checksums;
}

/** The checksums as elements of S3's result documents (`<ChecksumCRC32>`...). */
export function checksumElements(checksums: Record<string, string>): string[] {
  return Object.entries(checksums).flatMap(([algorithm, value]) =>
    algorithm in CHECKSUM_ELEMENTS ? [xmlElement(CHECKSUM_ELEMENTS[algorithm], value)] : [],
  );
}
