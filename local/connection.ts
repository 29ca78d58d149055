/** How `media-probe up` tells the other commands (run with --local) where its stack listens. */

export const LOCAL_CONNECTION_FILE = 'endpoints.json';

export interface LocalConnection {
  /** The `up` process; its absence means the file is stale. */
  pid: number;
  region: string;
  endpoints: { dynamodb: string; s3: string; stepfunctions: string };
  tableName: string;
  streamArn: string;
  stateMachineArn: string;
  backfillStateMachineArn: string;
  mediaBucket: string;
  resultsBucket: string;
}
