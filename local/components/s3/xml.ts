/** Minimal XML writing for S3 responses (the endpoint only ever emits a handful of fixed shapes). */

/** A child element: a text value, nested children, or a list rendered as repeated elements. */
export type XmlValue = string | number | boolean | XmlNode | XmlNode[] | undefined;
export interface XmlNode {
  [name: string]: XmlValue;
}

const ENTITIES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' };

export function escapeXml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ENTITIES[c]);
}

function render(name: string, value: XmlValue): string {
  if (value === undefined) return '';
  if (Array.isArray(value)) return value.map((v) => render(name, v)).join('');
  if (typeof value === 'object') return `<${name}>${renderChildren(value)}</${name}>`;
  return `<${name}>${escapeXml(String(value))}</${name}>`;
}

function renderChildren(node: XmlNode): string {
  return Object.entries(node)
    .map(([k, v]) => render(k, v))
    .join('');
}

/** A complete S3 document with the S3 namespace on the root element. */
export function s3Document(root: string, body: XmlNode, namespaced = true): string {
  const ns = namespaced ? ' xmlns="http://s3.amazonaws.com/doc/2006-03-01/"' : '';
  return `<?xml version="1.0" encoding="UTF-8"?>\n<${root}${ns}>${renderChildren(body)}</${root}>`;
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

  toXml(requestId: string): string {
    return s3Document('Error', { Code: this.code, Message: this.message, ...this.details, RequestId: requestId, HostId: requestId }, false);
  }
}
