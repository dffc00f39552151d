import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CategoricalDistribution, OTHER_CATEGORY } from './categorical.js';

const names = fc.array(fc.constantFrom('search', 'db', 'code', 'email', 'calendar', 'maps'), { maxLength: 100 });

function of(list: readonly string[], maxCategories = 50): CategoricalDistribution {
  const distribution = new CategoricalDistribution({ maxCategories });
  for (const name of list) distribution.add(name);
  return distribution;
}

describe('CategoricalDistribution', () => {
  it('merges commutatively, associatively, and like the union of the streams (under the cap)', () => {
    fc.assert(
      fc.property(names, names, names, (a, b, c) => {
        expect(of(a).merge(of(b)).toJSON()).toEqual(of(b).merge(of(a)).toJSON());
        expect(of(a).merge(of(b)).merge(of(c)).toJSON()).toEqual(
          of(a)
            .merge(of(b).merge(of(c)))
            .toJSON(),
        );
        expect(of(a).merge(of(b)).toJSON()).toEqual(of([...a, ...b]).toJSON());
      }),
    );
  });

  it('counts names beyond the cap as other, keeping one slot for it', () => {
    const distribution = of(['a', 'b', 'c', 'd', 'a'], 3);
    expect(distribution.toRecord()).toEqual({ a: 2, b: 1, [OTHER_CATEGORY]: 2 });
    expect(distribution.size).toBeLessThanOrEqual(3);
    expect(distribution.total).toBe(5);
  });

  it('gives shares that sum to one and round-trips through JSON', () => {
    const distribution = of(['search', 'search', 'db', 'code']);
    expect(distribution.shares()).toEqual({ code: 0.25, db: 0.25, search: 0.5 });
    const copy = CategoricalDistribution.fromJSON(JSON.parse(JSON.stringify(distribution)));
    expect(copy.toJSON()).toEqual(distribution.toJSON());
    expect(copy.total).toBe(4);
  });

  it('ignores non-positive weights and rejects a bad cap', () => {
    const distribution = of([]);
    distribution.add('x', 0);
    distribution.add('x', -1);
    expect(distribution.total).toBe(0);
    expect(distribution.shares()).toEqual({});
    expect(() => new CategoricalDistribution({ maxCategories: 0 })).toThrow(RangeError);
  });
});
