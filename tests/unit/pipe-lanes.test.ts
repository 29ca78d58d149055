/** How the local pipe splits a shard's records among ParallelizationFactor concurrent batches: by row key, in stream order. */
import type { PipeRecord } from '../../functions/lib/stream-record';
import { laneOf, lanesOf } from '../../local/pipe/local-pipe';

const record = (id: number, sequence: number): PipeRecord => ({
  eventName: 'INSERT',
  dynamodb: { Keys: { movie_id: { N: String(id) } }, SequenceNumber: String(sequence) },
});

describe('lanesOf', () => {
  const records = Array.from({ length: 200 }, (_, i) => record(i % 50, i));

  it('keeps every record of one row in one lane, in stream order', () => {
    for (const lane of lanesOf(records, 4)) {
      const byRow = new Map<string, number[]>();
      for (const r of lane) {
        const id = String(r.dynamodb?.Keys?.movie_id?.N);
        byRow.set(id, [...(byRow.get(id) ?? []), Number(r.dynamodb?.SequenceNumber)]);
      }
      for (const sequences of byRow.values()) expect(sequences).toEqual([...sequences].sort((a, b) => a - b));
    }
    const lanesOfRow = new Map<string, Set<number>>();
    lanesOf(records, 4).forEach((lane, index) => {
      for (const r of lane) {
        const id = String(r.dynamodb?.Keys?.movie_id?.N);
        lanesOfRow.set(id, (lanesOfRow.get(id) ?? new Set()).add(index));
      }
    });
    for (const lanes of lanesOfRow.values()) expect(lanes.size).toBe(1);
  });

  it('loses and duplicates nothing, and spreads rows over the lanes', () => {
    const lanes = lanesOf(records, 4);
    expect(
      lanes
        .flat()
        .map((r) => r.dynamodb?.SequenceNumber)
        .sort(),
    ).toEqual(records.map((r) => r.dynamodb?.SequenceNumber).sort());
    expect(lanes).toHaveLength(4);
    for (const lane of lanes) expect(lane.length).toBeGreaterThan(20);
  });

  it('with a factor of 1 is the records as they came', () => {
    expect(lanesOf(records, 1)).toEqual([records]);
  });

  it('laneOf is the lane lanesOf puts a key in', () => {
    const lanes = lanesOf(records, 4);
    expect(lanes).toHaveLength(4);
    lanes.forEach((lane, index) => {
      for (const r of lane) expect(laneOf(r.dynamodb?.Keys, 4)).toBe(index);
    });
  });
});
