import { UnexpectedReplyError } from '../errors/index.js';
import { SLOT_COUNT, toRanges, type ImportingSlot, type MigratingSlot, type SlotRange } from './model.js';

/** One line of CLUSTER NODES, as the answering node sees that node. */
export interface NodesLine {
  readonly id: string;
  readonly host: string;
  readonly port: number;
  readonly busPort: number;
  readonly hostname: string | null;
  readonly flags: readonly string[];
  readonly myself: boolean;
  readonly role: 'master' | 'replica';
  readonly masterId: string | null;
  readonly configEpoch: number;
  readonly connected: boolean;
  readonly slots: readonly SlotRange[];
  /** Open slots appear only on the `myself` line: a node does not know its peers' open slots. */
  readonly migrating: readonly MigratingSlot[];
  readonly importing: readonly ImportingSlot[];
}

const NODE_ID = /^[0-9a-f]{40}$/;

/**
 * Parses a CLUSTER NODES reply. The format is
 * `<id> <ip:port@cport[,hostname]> <flags> <master> <ping-sent> <pong-recv> <config-epoch> <link-state> <slot>...`
 * where a slot is `N`, `A-B`, `[N->-<id>]` (migrating) or `[N-<-<id>]` (importing).
 */
export function parseClusterNodes(reply: unknown): NodesLine[] {
  const text = Buffer.isBuffer(reply) ? reply.toString('utf8') : reply;
  if (typeof text !== 'string')
    throw new UnexpectedReplyError('CLUSTER NODES', `expected text, got ${typeof reply}`);
  const out: NodesLine[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line) continue;
    out.push(parseNodesLine(line));
  }
  return out;
}

function parseNodesLine(line: string): NodesLine {
  const parts = line.split(' ');
  if (parts.length < 8)
    throw new UnexpectedReplyError('CLUSTER NODES', `line has ${parts.length} fields: "${line}"`);
  const [id, address, flagText, master, , , epoch, link] = parts as [
    string,
    string,
    string,
    string,
    string,
    string,
    string,
    string,
  ];
  if (!NODE_ID.test(id)) throw new UnexpectedReplyError('CLUSTER NODES', `bad node id "${id}"`);
  const { host, port, busPort, hostname } = parseNodeAddress(address);
  const allFlags = flagText.split(',');
  const flags = allFlags.filter((f) => f !== 'myself' && f !== 'noflags');
  const role = allFlags.includes('slave') ? 'replica' : 'master';
  const slots: number[] = [];
  const ranges: SlotRange[] = [];
  const migrating: MigratingSlot[] = [];
  const importing: ImportingSlot[] = [];
  for (const token of parts.slice(8)) {
    const open = /^\[(\d+)-([<>])-([0-9a-f]{40})\]$/.exec(token);
    if (open) {
      const slot = checkSlot(Number(open[1]), token);
      if (open[2] === '>') migrating.push({ slot, to: open[3]! });
      else importing.push({ slot, from: open[3]! });
      continue;
    }
    const range = /^(\d+)(?:-(\d+))?$/.exec(token);
    if (!range) throw new UnexpectedReplyError('CLUSTER NODES', `bad slot token "${token}"`);
    const start = checkSlot(Number(range[1]), token);
    const end = checkSlot(Number(range[2] ?? range[1]), token);
    if (end < start) throw new UnexpectedReplyError('CLUSTER NODES', `bad slot range "${token}"`);
    ranges.push({ start, end });
  }
  for (const r of ranges) for (let s = r.start; s <= r.end; s++) slots.push(s);
  return {
    id,
    host,
    port,
    busPort,
    hostname,
    flags,
    myself: allFlags.includes('myself'),
    role,
    masterId: master === '-' ? null : master,
    configEpoch: Number(epoch),
    connected: link === 'connected',
    slots: toRanges(slots),
    migrating,
    importing,
  };
}

function checkSlot(slot: number, token: string): number {
  if (!Number.isInteger(slot) || slot < 0 || slot >= SLOT_COUNT) {
    throw new UnexpectedReplyError('CLUSTER NODES', `slot out of range in "${token}"`);
  }
  return slot;
}

/** `ip:port@cport[,hostname]`; the ip may be IPv6 (colons), so the port is after the last colon. */
export function parseNodeAddress(address: string): {
  host: string;
  port: number;
  busPort: number;
  hostname: string | null;
} {
  const [hostPortBus = '', hostname = null] = address.split(',', 2);
  const [hostPort = '', bus = '0'] = hostPortBus.split('@', 2);
  const colon = hostPort.lastIndexOf(':');
  if (colon < 0) throw new UnexpectedReplyError('CLUSTER NODES', `bad address "${address}"`);
  const host = hostPort.slice(0, colon).replace(/^\[(.*)\]$/, '$1');
  const port = Number(hostPort.slice(colon + 1));
  if (!Number.isInteger(port)) throw new UnexpectedReplyError('CLUSTER NODES', `bad port in "${address}"`);
  return { host, port, busPort: Number(bus), hostname: hostname || null };
}

/** One shard of CLUSTER SHARDS (Redis 7+). */
export interface Shard {
  readonly slots: readonly SlotRange[];
  readonly nodes: readonly ShardNode[];
}
export interface ShardNode {
  readonly id: string;
  readonly host: string;
  readonly port: number;
  readonly role: 'master' | 'replica';
  /** `online`, `failed` or `loading`. */
  readonly health: string;
  readonly replicationOffset: number;
}

/** Parses a RESP2 CLUSTER SHARDS reply: an array of flat key/value arrays. */
export function parseClusterShards(reply: unknown): Shard[] {
  if (!Array.isArray(reply)) throw new UnexpectedReplyError('CLUSTER SHARDS', 'expected an array');
  return reply.map((shard) => {
    const fields = toRecord(shard, 'shard');
    const slotList = fields.get('slots');
    const nodeList = fields.get('nodes');
    if (!Array.isArray(slotList) || !Array.isArray(nodeList)) {
      throw new UnexpectedReplyError('CLUSTER SHARDS', 'shard without slots or nodes');
    }
    const slots: SlotRange[] = [];
    for (let i = 0; i + 1 < slotList.length; i += 2) {
      slots.push({ start: Number(slotList[i]), end: Number(slotList[i + 1]) });
    }
    const nodes = nodeList.map((n): ShardNode => {
      const f = toRecord(n, 'node');
      const id = str(f.get('id'));
      const port = Number(f.get('port') ?? f.get('tls-port'));
      if (!NODE_ID.test(id) || !Number.isInteger(port)) {
        throw new UnexpectedReplyError('CLUSTER SHARDS', `bad node entry for "${id}"`);
      }
      return {
        id,
        host: str(f.get('ip') ?? f.get('endpoint')),
        port,
        role: str(f.get('role')) === 'master' ? 'master' : 'replica',
        health: str(f.get('health')),
        replicationOffset: Number(f.get('replication-offset') ?? 0),
      };
    });
    return { slots, nodes };
  });
}

function toRecord(value: unknown, what: string): Map<string, unknown> {
  if (!Array.isArray(value) || value.length % 2 !== 0) {
    throw new UnexpectedReplyError('CLUSTER SHARDS', `${what} is not a key/value list`);
  }
  const m = new Map<string, unknown>();
  for (let i = 0; i < value.length; i += 2) m.set(str(value[i]), value[i + 1]);
  return m;
}

function str(v: unknown): string {
  if (typeof v === 'string') return v;
  if (Buffer.isBuffer(v)) return v.toString('utf8');
  if (typeof v === 'number') return String(v);
  return '';
}

/** Reads `key:value` lines of an INFO reply into a map. */
export function parseInfo(reply: unknown): Map<string, string> {
  const text = Buffer.isBuffer(reply) ? reply.toString('utf8') : reply;
  if (typeof text !== 'string') throw new UnexpectedReplyError('INFO', 'expected text');
  const m = new Map<string, string>();
  for (const line of text.split(/\r?\n/)) {
    const i = line.indexOf(':');
    if (i > 0 && !line.startsWith('#')) m.set(line.slice(0, i), line.slice(i + 1));
  }
  return m;
}

/**
 * One numeric field of an INFO or CLUSTER INFO reply (e.g. `cluster_my_epoch`); null when the reply
 * is not text (a failed read) or lacks the field (Redis leaves zero counters out).
 */
export function infoNumber(reply: unknown, field: string): number | null {
  if (typeof reply !== 'string' && !Buffer.isBuffer(reply)) return null;
  const value = parseInfo(reply).get(field);
  return value === undefined || !/^\d+$/.test(value) ? null : Number(value);
}
