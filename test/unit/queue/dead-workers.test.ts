import { describe, expect, it } from 'vitest';
import { deadOwners, pidSpace, processRuns } from '../../../src/queue/dead-workers.js';

const record = (space: string, pid: number): string => JSON.stringify({ space, pid });

describe('deadOwners', () => {
  const running = new Set([100, 200]);
  const runs = (pid: number): boolean => running.has(pid);

  it('names the workers of this machine whose process no longer runs', () => {
    const owners = {
      alive: record('here', 100),
      killed: record('here', 300),
      elsewhere: record('there', 400),
      self: record('here', 500),
      garbled: '{not json',
      noPid: JSON.stringify({ space: 'here' }),
      badPid: JSON.stringify({ space: 'here', pid: '300' }),
    };
    expect(deadOwners(owners, 'here', 500, runs)).toEqual(['killed']);
  });

  it('never names a process of another machine or namespace, even one whose pid is free here', () => {
    expect(deadOwners({ a: record('there', 300), b: record('here/other-ns', 301) }, 'here', 1, runs)).toEqual(
      [],
    );
  });
});

describe('pidSpace and processRuns', () => {
  it('tell this process apart from a pid that is gone', () => {
    expect(pidSpace()).toMatch(/\/pid:\[\d+\]$/);
    expect(processRuns(process.pid)).toBe(true);
    // Above the kernel's largest pid (pid_max is at most 2^22), so nothing runs there.
    expect(processRuns(2 ** 22 + 1)).toBe(false);
  });
});
