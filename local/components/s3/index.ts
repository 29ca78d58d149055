/** The local S3 endpoint: SigV4-verifying, file-system backed, with fault injection. */

export type { S3Endpoint, S3EndpointOptions, S3FaultCode, S3FaultRule, S3ObjectEvent, S3RequestRecord } from './endpoint';
export { S3Faults, startS3Endpoint } from './endpoint';
export type { Credentials } from './sigv4';
