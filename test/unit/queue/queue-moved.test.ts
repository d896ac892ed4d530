import { describe, expect, it } from 'vitest';
import { queueMovedTo } from '../../../src/queue/index.js';

describe('queueMovedTo: where a queue on a failed-over cluster node went', () => {
  it('keeps the scheme, credentials and database of the queue URL, with the new address', () => {
    expect(queueMovedTo(new Error('MOVED 13028 127.0.0.1:43351'), 'rediss://u:p@10.0.0.1:7000/0')).toEqual({
      slot: 13028,
      address: '127.0.0.1:43351',
      url: 'rediss://u:p@127.0.0.1:43351/0',
    });
  });

  it('brackets an IPv6 address', () => {
    expect(queueMovedTo(new Error('MOVED 5 ::1:7001'), 'redis://[::1]:7000')?.url).toBe('redis://[::1]:7001');
  });

  it('is null for other errors', () => {
    expect(queueMovedTo(new Error('ASK 13028 127.0.0.1:43351'), 'redis://h:1')).toBeNull();
    expect(queueMovedTo(new Error('Connection is closed.'), 'redis://h:1')).toBeNull();
    expect(queueMovedTo('MOVED 1 h:2', 'redis://h:1')).toBeNull();
  });
});
