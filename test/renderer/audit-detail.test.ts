import { describe, expect, it } from 'vitest';
import { describeAuditDetail } from '../../renderer/src/views/audit-detail';

describe("the Audit view's reading of a row's detail", () => {
  it('reads a tally as its count, its minute and its codes', () => {
    const tally = JSON.stringify({
      counted: 3,
      from: '2026-12-05T03:00:00.000Z',
      to: '2026-12-05T03:01:00.000Z',
      codes: { PH_FORBIDDEN: 3 },
    });
    const text = describeAuditDetail(tally);
    expect(text).toMatch(/^3 calls, .+ · PH_FORBIDDEN ×3$/);
    expect(text).not.toContain('{');
  });

  it('says one call, and no codes for a tally of calls that succeeded', () => {
    const tally = JSON.stringify({ counted: 1, from: '2026-12-05T03:00:00.000Z', to: '2026-12-05T03:01:00.000Z' });
    expect(describeAuditDetail(tally)).toMatch(/^1 call, [^·]+$/);
  });

  it('leaves a code, a note or JSON that is not a tally as written', () => {
    expect(describeAuditDetail('PH_BATCH_JOB_NOT_FOUND')).toBe('PH_BATCH_JOB_NOT_FOUND');
    expect(describeAuditDetail('bootstrap admin key')).toBe('bootstrap admin key');
    expect(describeAuditDetail('{"role":"admin"}')).toBe('{"role":"admin"}');
  });
});
