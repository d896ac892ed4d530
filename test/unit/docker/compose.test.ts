import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, posix, resolve } from 'node:path';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { parseAddress } from '../../../src/cluster/index.js';
import { loadConfig, loadPlanFile } from '../../../src/config/index.js';

const DOCKER = resolve(import.meta.dirname, '../../../docker');
const REPO = dirname(DOCKER);

interface Service {
  image?: string;
  build?: { context: string; dockerfile?: string };
  command?: string[] | string;
  entrypoint?: string[];
  volumes?: string[];
  ports?: string[];
  depends_on?: Record<string, { condition: string }>;
}
const compose = parse(readFileSync(join(DOCKER, 'compose.yaml'), 'utf8')) as {
  services: Record<string, Service>;
};
const services = compose.services;
const daemon = services.slotshift!;

// What the CLI's daemon command accepts (src/cli): `daemon -c <file>` and these overrides.
const DAEMON_FLAGS_WITH_VALUE = new Set(['-c', '--config', '--seed', '--queue', '--listen', '--plan']);

const commandOf = (s: Service): string[] =>
  Array.isArray(s.command) ? s.command : (s.command ?? '').split(/\s+/).filter(Boolean);
const isClusterNode = (s: Service): boolean => commandOf(s).join(' ').includes('--cluster-enabled yes');

/** Host path → container path of the daemon's bind mounts. */
const mounts = new Map(
  (daemon.volumes ?? []).map((v) => {
    const [host = '', container = ''] = v.split(':');
    return [container, resolve(DOCKER, host)] as const;
  }),
);

function daemonArgs(): { subcommand: string; flags: Map<string, string> } {
  const [subcommand = '', ...rest] = commandOf(daemon);
  const flags = new Map<string, string>();
  for (let i = 0; i < rest.length; i += 2) {
    const flag = rest[i] ?? '';
    expect(DAEMON_FLAGS_WITH_VALUE, `unknown daemon flag ${flag}`).toContain(flag);
    expect(rest[i + 1], `${flag} needs a value`).toBeDefined();
    flags.set(flag === '--config' ? '-c' : flag, rest[i + 1] ?? '');
  }
  return { subcommand, flags };
}

function mountedConfig() {
  const containerPath = daemonArgs().flags.get('-c') ?? '';
  const hostPath = mounts.get(containerPath);
  expect(hostPath, `${containerPath} is not mounted into the daemon`).toBeDefined();
  return { containerPath, hostPath: hostPath!, config: loadConfig(hostPath!) };
}

describe('docker/compose.yaml', () => {
  it('gives every service an image or a build whose Dockerfile exists', () => {
    for (const [name, service] of Object.entries(services)) {
      if (service.build) {
        const context = resolve(DOCKER, service.build.context);
        expect(existsSync(join(context, service.build.dockerfile ?? 'Dockerfile')), name).toBe(true);
        expect(existsSync(join(context, 'package.json')), name).toBe(true);
      } else {
        expect(service.image, name).toMatch(/^redis:7\.0$/);
      }
    }
  });

  it('runs a cluster of 6 nodes, 3 created with slots and 3 added empty', () => {
    const nodes = Object.keys(services).filter((n) => isClusterNode(services[n]!));
    expect(nodes).toHaveLength(6);
    const init = services['cluster-init']!;
    const script = commandOf(init).join(' ');
    const created = /--cluster create (.*?) --cluster-yes/.exec(script)?.[1] ?? '';
    expect(created.match(/redis-\d/g)).toEqual(['redis-1', 'redis-2', 'redis-3']);
    expect(script).toMatch(/for node in redis-4 redis-5 redis-6; do\s+redis-cli --cluster add-node/);
    expect(Object.keys(init.depends_on ?? {}).sort()).toEqual(nodes.sort());
    expect(daemon.depends_on?.['cluster-init']?.condition).toBe('service_completed_successfully');
  });

  it('starts the daemon with a subcommand and flags the CLI has', () => {
    const { subcommand, flags } = daemonArgs();
    expect(subcommand).toBe('daemon');
    expect(flags.has('-c')).toBe(true);
  });

  it('mounts a config that exists in docker/ and validates', () => {
    const { hostPath } = mountedConfig();
    expect(hostPath.startsWith(DOCKER)).toBe(true);
    expect(existsSync(hostPath)).toBe(true);
  });

  it('mounts the plan file into the config plans directory, and it validates', () => {
    const { containerPath, config } = mountedConfig();
    const plansInContainer = posix.resolve(
      posix.dirname(containerPath),
      posix.relative(dirname(config.file), config.plans),
    );
    const planMounts = [...mounts].filter(([container]) => container.startsWith(`${plansInContainer}/`));
    expect(planMounts.map(([, host]) => host)).toEqual([join(DOCKER, 'plans/scale-out.yaml')]);
    for (const [, host] of planMounts) expect(loadPlanFile(host).name).toBe('scale-out');
    // The same relative path finds the plans in the repository, so the shipped files are what runs.
    expect(config.plans).toBe(join(DOCKER, 'plans'));
  });

  it("points the config's seeds at cluster services and its queue at the queue service", () => {
    const { config } = mountedConfig();
    for (const seed of config.cluster.seeds) {
      const service = services[parseAddress(seed).host];
      expect(service && isClusterNode(service), `${seed} is no cluster node service`).toBe(true);
    }
    expect(config.queue.url.from).toBe('inline');
    const url = new URL(config.queue.url.from === 'inline' ? config.queue.url.value : '');
    expect(Object.keys(services)).toContain(url.hostname);
    expect(isClusterNode(services[url.hostname]!)).toBe(false);
    expect(Object.keys(daemon.depends_on ?? {})).toContain(url.hostname);
  });

  it('publishes the port the daemon listens on', () => {
    const { config } = mountedConfig();
    const { port } = parseAddress(config.http.listen);
    const published = (daemon.ports ?? []).map((p) => Number(p.split(':').at(-1)));
    expect(published).toContain(port);
  });
});

describe('docker/Dockerfile', () => {
  const dockerfile = readFileSync(join(DOCKER, 'Dockerfile'), 'utf8');

  it('builds on node:20-slim in stages and runs as a non-root user', () => {
    expect(dockerfile.match(/^FROM node:20-slim AS \w+$/gm)?.length).toBeGreaterThanOrEqual(2);
    const runtime = dockerfile.slice(dockerfile.lastIndexOf('\nFROM '));
    expect(runtime).toMatch(/^USER (?!root)\w+$/m);
    expect(runtime).toContain('ENTRYPOINT ["node", "bin/slotshift.js"]');
    expect(runtime).toContain('CMD ["daemon", "-c", "/etc/slotshift/slotshift.yaml"]');
  });

  it('copies only paths that exist in the repository', () => {
    const sources = [...dockerfile.matchAll(/^COPY (?!--from)(.+) \S+$/gm)].flatMap((m) =>
      m[1]!.split(/\s+/),
    );
    expect(sources.length).toBeGreaterThan(0);
    for (const source of sources) expect(existsSync(join(REPO, source)), source).toBe(true);
    expect(existsSync(join(REPO, 'bin/slotshift.js'))).toBe(true);
  });
});
