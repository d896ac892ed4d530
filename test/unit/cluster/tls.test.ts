import { describe, expect, it } from 'vitest';
import { classifyConnectError, parseClusterNodes, parseClusterShards } from '../../../src/cluster/index.js';
import { NodeUnreachableError, TlsError } from '../../../src/errors/index.js';

const ADDR = '127.0.0.1:45753';
const withCode = (message: string, code: string): Error => Object.assign(new Error(message), { code });

// Replies recorded from a redis 7.0.15 node started with `port 0`, `tls-port 45753`, `tls-cluster yes`.
const A = '5e0556f7a8956a533ad1cada0918efc6b3b2533e';
const SHARDS_TLS_ONLY = [
  [
    'slots',
    [0, 5461],
    'nodes',
    [
      [
        'id',
        A,
        'tls-port',
        45753,
        'ip',
        '127.0.0.1',
        'endpoint',
        '127.0.0.1',
        'role',
        'master',
        'replication-offset',
        0,
        'health',
        'online',
      ],
    ],
  ],
];

describe('a TLS-only cluster (port 0, tls-cluster yes)', () => {
  it('CLUSTER NODES carries the TLS port as the node port', () => {
    const [line] = parseClusterNodes(
      `${A} 127.0.0.1:45753@39013 myself,master - 0 1795618026000 1 connected 0-5461\n`,
    );
    expect(line).toMatchObject({ host: '127.0.0.1', port: 45753, busPort: 39013 });
  });

  it('CLUSTER SHARDS has no `port` field, only `tls-port`', () => {
    const [shard] = parseClusterShards(SHARDS_TLS_ONLY);
    expect(shard!.nodes[0]).toMatchObject({ id: A, host: '127.0.0.1', port: 45753, health: 'online' });
  });
});

describe('classifyConnectError over TLS', () => {
  it('an untrusted server certificate keeps its reason', () => {
    const e = classifyConnectError(
      ADDR,
      withCode('self-signed certificate in certificate chain', 'SELF_SIGNED_CERT_IN_CHAIN'),
      true,
    );
    expect(e).toBeInstanceOf(TlsError);
    expect(e.message).toContain(
      `TLS connection to ${ADDR} failed: self-signed certificate in certificate chain`,
    );
  });

  it('a missing client certificate says to add one, not OpenSSL internals', () => {
    const e = classifyConnectError(
      ADDR,
      withCode(
        '809CC6F2237F0000:error:0A00045C:SSL routines:ssl3_read_bytes:tlsv13 alert certificate required:../deps/openssl/openssl/ssl/record/rec_layer_s3.c:1601:SSL alert number 116',
        'ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED',
      ),
      true,
    );
    expect(e).toBeInstanceOf(TlsError);
    expect(e.message).toContain(
      'the server requires a client certificate (mutual TLS): add --tls-cert and --tls-key',
    );
    expect(e.message).not.toContain('rec_layer_s3');
  });

  it('a client certificate from another CA is reported as rejected', () => {
    const e = classifyConnectError(
      ADDR,
      withCode(
        '80ABCDEF:error:0A000418:SSL routines:ssl3_read_bytes:tlsv1 alert unknown ca:../deps/openssl/openssl/ssl/record/rec_layer_s3.c:1601:SSL alert number 48',
        'ERR_SSL_TLSV1_ALERT_UNKNOWN_CA',
      ),
      true,
    );
    expect(e).toBeInstanceOf(TlsError);
    expect(e.message).toContain('the server rejected the client certificate');
  });

  it('a reset right after the handshake (the alert not read yet) is a TLS error, not an unreachable node', () => {
    for (const err of [withCode('write ECONNRESET', 'ECONNRESET'), new Error('Connection is closed.')]) {
      const e = classifyConnectError(ADDR, err, true);
      expect(e).toBeInstanceOf(TlsError);
      expect(e.message).toContain('client certificate');
    }
  });
});

describe('classifyConnectError without TLS', () => {
  it('a refused connection to a node of the cluster says so, without the --seed advice meant for seeds', () => {
    const e = classifyConnectError(ADDR, withCode(`connect ECONNREFUSED ${ADDR}`, 'ECONNREFUSED'), false);
    expect(e).toBeInstanceOf(NodeUnreachableError);
    expect(e.retryable).toBe(true);
    expect(e.message).toBe(
      `cannot connect to ${ADDR}, a node of the cluster: connection refused; it may be down or failing over (slotshift status --seed HOST:PORT shows the cluster's view of it)`,
    );
  });
});
