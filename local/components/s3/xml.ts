/** S3's XML error document, the only XML the local S3 endpoint writes. */

const ENTITIES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' };

function escapeXml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ENTITIES[c]);
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
    const body = Object.entries(elements)
      .map(([name, value]) => `<${name}>${escapeXml(value)}</${name}>`)
      .join('');
    return `<?xml version="1.0" encoding="UTF-8"?>\n<Error>${body}</Error>`;
  }
}
