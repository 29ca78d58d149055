/** The operator commands, against a deployed stack (--stack NAME) or the local stack (--local). */
export { backfill } from './backfill';
export { put } from './put';
export { reanalyze } from './reanalyze';
export { status } from './status';
