import { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { daemonCommand } from '../../../src/cli/commands/daemon.js';
import { parsePlanFileText } from '../../../src/config/index.js';

function daemonHelp(): string {
  const program = new Command();
  daemonCommand(program);
  const daemon = program.commands.find((c) => c.name() === 'daemon')!;
  let out = '';
  daemon.configureOutput({ writeOut: (s) => (out += s) });
  daemon.outputHelp();
  return out;
}

describe('slotshift daemon --help', () => {
  it('explains windows: where they are set, the cron, duration and time zone, and what a window end does', () => {
    const help = daemonHelp();
    expect(help).toContain("a plan file's spec.window");
    expect(help).toMatch(/cron: .*5 fields \(minute hour day-of-month month/);
    expect(help).toMatch(/duration: .*elapsed time: ms, s, m, h, d/);
    expect(help).toMatch(/timezone: .*required: the IANA zone/);
    expect(help.replace(/\s+/g, ' ')).toContain(
      'At the end of a window, slots not yet started are cancelled and slots in flight finish',
    );
  });

  it('shows a window example the plan file schema accepts as written', () => {
    const lines = daemonHelp().split('\n');
    const start = lines.indexOf('  window:');
    const block = lines
      .slice(start, start + 6)
      .filter((l) => /^ {2}window:|^ {4}\w+:/.test(l))
      .map((l) => l.replace(/\s+#.*$/, ''));
    expect(block).toHaveLength(4);
    const file = parsePlanFileText(
      `apiVersion: slotshift/v1\nkind: RebalancePlan\nmetadata:\n  name: help\nspec:\n${block.map((l) => `  ${l}`).join('\n')}\n`,
      'help.yaml',
    );
    expect(file.window).toEqual({ cron: '0 1 * * *', durationMs: 4 * 3_600_000, timezone: 'Europe/Berlin' });
  });
});
