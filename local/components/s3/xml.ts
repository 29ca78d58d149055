/**
 * S3's XML: the error document, the result documents of the operations that answer with one, and
 * the entities of the one document a client sends (CompleteMultipartUpload).
 */

const ENTITIES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' };
const NAMED: Record<string, string> = Object.fromEntries(Object.entries(ENTITIES).map(([c, e]) => [e.slice(1, -1), c]));
const S3_NAMESPACE = 'http://s3.amazonaws.com/doc/2006-03-01/';

function escapeXml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ENTITIES[c]);
}

/** Text content as written by any XML serializer: the five named entities and numeric references. */
export function unescapeXml(text: string): string {
  return text.replace(/&(#x[0-9a-fA-F]+|#\d+|[a-z]+);/g, (entity, name: string) => {
    if (name.startsWith('#x')) return String.fromCodePoint(Number.parseInt(name.slice(2), 16));
    if (name.startsWith('#')) return String.fromCodePoint(Number(name.slice(1)));
    return NAMED[name] ?? entity;
  });
}

/** One element: text content is escaped, child elements (an array of elements built by this function) are not. */
export function xmlElement(name: string, content: string | number | boolean | string[]): string {
  const inner = Array.isArray(content) ? content.join('') : escapeXml(String(content));
  return `<${name}>${inner}</${name}>`;
}

/** A result document as S3 sends it: its root element in S3's namespace. */
export function s3Document(root: string, children: string[]): string {
  return `<?xml version="1.0" encoding="UTF-8"?>\n<${root} xmlns="${S3_NAMESPACE}">${children.join('')}</${root}>`;
}

/**
 * S3's error shape; `status` drives the HTTP status, `details` become extra elements
 * (e.g. Key, BucketName, HeadersNotSigned) as S3 adds them.
 */
export class S3Error extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details: Record<string, string> = {},
  ) {
    super(message);
    this.name = code;
  }

  /** The document S3 sends: no namespace on <Error>, unlike its other responses. */
  toXml(requestId: string): string {
    const elements = { Code: this.code, Message: this.message, ...this.details, RequestId: requestId, HostId: requestId };
    const body = Object.entries(elements).map(([name, value]) => xmlElement(name, value));
    return `<?xml version="1.0" encoding="UTF-8"?>\n${xmlElement('Error', body)}`;
  }
}
