/** A bounded worker pool: work on every item, at most `concurrency` at once, begun in the items' order. */

/**
 * Runs `work` on every item with at most `concurrency` running at once, in order of the items.
 * Once `stopped()` is true no further item is begun; the ones under way finish.
 */
export async function runPool<T>(
  items: readonly T[],
  concurrency: number,
  work: (item: T, index: number) => Promise<void>,
  stopped: () => boolean = () => false,
): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length && !stopped()) {
      const index = next++;
      await work(items[index], index);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(concurrency, items.length)) }, worker));
}
