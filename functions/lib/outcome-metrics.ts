/**
 * The CloudWatch metrics of recorded analyses, in the embedded metric format: a count of analyses by
 * status, and of failed ones by the step that failed and the error type. The template's
 * failed-analysis alarm divides the first by status.
 */
import { type Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import type { UpdateOutcome } from './update';

/** Analyses recorded on their rows, by `status` (SUCCEEDED or FAILED). */
export const ANALYSES_METRIC = 'Analyses';
/** Failed analyses recorded on their rows, by `step` and `error_type`. */
export const FAILED_ANALYSES_METRIC = 'FailedAnalyses';

/**
 * Counts an outcome the update step recorded. A result left alone (stale, or a duplicate delivery)
 * is no new outcome and counts nothing. Each count is its own EMF document because each has its own
 * dimensions, which one Metrics flush would share.
 */
export function countOutcome(metrics: Metrics, outcome: UpdateOutcome): void {
  if (!outcome.applied) return;
  const byStatus = metrics.singleMetric();
  byStatus.addDimension('status', outcome.status);
  byStatus.addMetric(ANALYSES_METRIC, MetricUnit.Count, 1);
  if (outcome.status === 'FAILED' && outcome.error) {
    const byError = metrics.singleMetric();
    byError.addDimensions({ step: outcome.error.step, error_type: outcome.error.type });
    byError.addMetric(FAILED_ANALYSES_METRIC, MetricUnit.Count, 1);
  }
}
