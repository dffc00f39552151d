import { describe, expect, it } from 'vitest';
import {
  decodeSyncFlagsResponse,
  decodeSyncRequest,
  encodeFetchAllFlagsResponse,
  encodeGetMetadataResponse,
  encodeSyncFlagsResponse,
  encodeSyncRequest,
} from './sync-proto.js';

// Wire bytes written out by hand from the field numbers of flagd.sync.v1 (tag = field << 3 | 2).
describe('flagd.sync.v1 codecs', () => {
  it('reads provider_id (1) and selector (2) of a request', () => {
    const bytes = Buffer.from([0x0a, 0x01, 0x70, 0x12, 0x02, 0x73, 0x31]);
    expect(decodeSyncRequest(bytes)).toEqual({ ok: true, providerId: 'p', selector: 's1' });
    expect(decodeSyncRequest(Buffer.alloc(0))).toEqual({ ok: true, providerId: '', selector: '' });
    expect(encodeSyncRequest({ providerId: 'p', selector: 's1' })).toEqual(bytes);
  });

  it('reports bytes that are not a request instead of throwing', () => {
    const decoded = decodeSyncRequest(Buffer.from([0xff, 0xff, 0xff]));
    expect(decoded.ok).toBe(false);
    expect(decoded.ok ? '' : decoded.problem).toMatch(/not a flagd\.sync\.v1 request/);
  });

  it('writes flag_configuration (1) and an empty sync_context Struct (2), as flagd does', () => {
    const text = '{"flags":{}}';
    const bytes = encodeSyncFlagsResponse(text);
    expect([...bytes]).toEqual([0x0a, text.length, ...Buffer.from(text), 0x12, 0x00]);
    expect(decodeSyncFlagsResponse(bytes)).toEqual({ flagConfiguration: text });
    expect([...encodeFetchAllFlagsResponse(text)]).toEqual([0x0a, text.length, ...Buffer.from(text)]);
  });

  it('writes GetMetadata metadata as field 2, an empty Struct', () => {
    expect([...encodeGetMetadataResponse()]).toEqual([0x12, 0x00]);
  });
});
