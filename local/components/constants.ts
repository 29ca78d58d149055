/** Fixed credentials and region shared by every local component and the clients that talk to them. */

/**
 * Not a secret: the local S3 endpoint verifies signatures against these, and DynamoDB Local
 * (run with -sharedDb) ignores them. Letters and digits only, because DynamoDB Local 2.x
 * rejects access key ids with other characters. Deliberately not frozen: the AWS SDK tags the
 * credentials object it is given and fails on a frozen one.
 */
export const LOCAL_CREDENTIALS: { readonly accessKeyId: string; readonly secretAccessKey: string } = {
  accessKeyId: 'MEDIAPROBELOCAL',
  secretAccessKey: 'mediaprobelocalsecret',
};

export const LOCAL_REGION = 'us-east-1';
