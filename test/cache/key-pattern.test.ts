import { describe, expect, it } from 'vitest';
import { matchingKeys, type KeySources } from '../../main/cache/cache-key-list';

/** Only L1, held in memory: what `cache.keys` and `cache.invalidateMatching` match a pattern against. */
function inL1(keys: readonly string[]): KeySources {
  return { l1: keys.map((key) => [key, { size: 1, freshUntil: Number.MAX_SAFE_INTEGER, tags: [] }]), l3: null, l2: null };
}

const matching = async (keys: readonly string[], pattern: string): Promise<string[]> => (await matchingKeys(inL1(keys), { pattern })).keys;

describe('key patterns, where * stands for any run of characters and everything else is literal', () => {
  const keys = ['user:1', 'user:12', 'user:1:profile', 'users', 'a.b', 'axb', 'line\nbreak', 'abcabc', 'ab'];

  it('matches whole keys: literal, a prefix, a suffix, parts in order, stars in a row', async () => {
    expect(await matching(keys, 'user:1')).toEqual(['user:1']);
    expect(await matching(keys, 'user:1*')).toEqual(['user:1', 'user:12', 'user:1:profile']);
    expect(await matching(keys, '*:profile')).toEqual(['user:1:profile']);
    expect(await matching(keys, 'u*:*e')).toEqual(['user:1:profile']);
    expect(await matching(keys, 'a**c')).toEqual(['abcabc']);
    expect(await matching(keys, '*')).toEqual([...keys].sort());
  });

  it('takes regular-expression characters and line breaks as themselves', async () => {
    expect(await matching(keys, 'a.b')).toEqual(['a.b']);
    expect(await matching(keys, 'line*break')).toEqual(['line\nbreak']);
  });

  it('needs the parts not to overlap: a first and last part share no character', async () => {
    expect(await matching(keys, 'ab*b')).toEqual([]);
    expect(await matching(keys, 'abc*abc')).toEqual(['abcabc']);
    expect(await matching(keys, 'a*bc*c')).toEqual(['abcabc']);
  });

  it('answers a pattern that would make a backtracking matcher run for ages, over a long key, at once', async () => {
    const long = 'a'.repeat(5_000);
    expect(await matching([long], `${'*a'.repeat(40)}*b`)).toEqual([]);
    expect(await matching([long], `${'*a'.repeat(40)}*`)).toEqual([long]);
  });
});
