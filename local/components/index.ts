/** Local stand-ins for the AWS services media-probe uses: DynamoDB Local (+ fault proxy) and a SigV4-verifying S3 endpoint. */
export { LOCAL_CREDENTIALS, LOCAL_REGION } from './constants';
export { stopAll } from './lifecycle';
export type { FaultHandle } from './faults';
export { ensureDynamoDbLocal, startDynamoDbLocal, dynamoDbLocalVersion } from './dynamodb-local';
export type { DynamoDbLocal, DynamoDbLocalOptions, DynamoDbLocalInstallOptions } from './dynamodb-local';
export type { Log } from './jvm';
export { startDynamoDbFaultProxy, DynamoDbFaults } from './dynamodb-fault-proxy';
export type { DynamoDbFaultProxy, DynamoDbFaultRule, DynamoDbFaultError } from './dynamodb-fault-proxy';
export { startS3Endpoint, S3Faults } from './s3';
export type { S3Endpoint, S3EndpointOptions, S3FaultRule, S3FaultCode, S3RequestRecord } from './s3';
