/** The local S3 endpoint: SigV4-verifying, file-system backed, with fault injection. */
export { startS3Endpoint, S3Faults } from './endpoint';
export type { S3Endpoint, S3EndpointOptions, S3FaultRule, S3FaultCode, S3RequestRecord } from './endpoint';
export type { Credentials } from './sigv4';
