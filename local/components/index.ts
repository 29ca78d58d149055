/** Local stand-ins for the AWS services media-probe uses: DynamoDB Local (+ fault proxy) and a SigV4-verifying S3 endpoint. */
export { LOCAL_CREDENTIALS, LOCAL_REGION } from './constants';
export type { DynamoDbFaultError, DynamoDbFaultProxy, DynamoDbFaultRule } from './dynamodb-fault-proxy';
export { DynamoDbFaults, startDynamoDbFaultProxy } from './dynamodb-fault-proxy';
export type { DynamoDbLocal, DynamoDbLocalInstallOptions, DynamoDbLocalOptions } from './dynamodb-local';
export { dynamoDbLocalVersion, ensureDynamoDbLocal, startDynamoDbLocal } from './dynamodb-local';
export type { FaultHandle } from './faults';
export type { Log } from './jvm';
export { stopAll } from './lifecycle';
export type { S3Endpoint, S3EndpointOptions, S3FaultCode, S3FaultRule, S3ObjectEvent, S3RequestRecord } from './s3';
export { S3Faults, startS3Endpoint } from './s3';
