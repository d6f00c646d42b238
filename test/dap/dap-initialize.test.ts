import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import type { DebugProtocol } from '@vscode/debugprotocol';
import { KdiveDebugSession } from '../../src/dap/kdive-debug-session.js';

/** Sends one request to an adapter over in-memory streams and returns its response. */
async function ask(args: Record<string, unknown>): Promise<DebugProtocol.Response> {
  const input = new PassThrough();
  const output = new PassThrough();
  const session = new KdiveDebugSession();
  session.start(input, output);
  const body = JSON.stringify({ seq: 1, type: 'request', command: 'initialize', arguments: args });
  input.write(`Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
  let text = '';
  for await (const chunk of output) {
    text += chunk;
    const m = /Content-Length: (\d+)\r\n\r\n/.exec(text);
    if (m && Buffer.byteLength(text.slice(m.index + m[0].length)) >= Number(m[1])) break;
  }
  session.shutdown();
  return JSON.parse(text.slice(text.indexOf('\r\n\r\n') + 4)) as DebugProtocol.Response;
}

test('DAP initialize without pathFormat succeeds (the protocol default is path); with path too; uri is refused', async () => {
  const bare = await ask({ adapterID: 'kdive', clientID: 'nvim-dap' });
  assert.equal(bare.success, true, JSON.stringify(bare));
  assert.equal((bare as DebugProtocol.InitializeResponse).body?.supportsConfigurationDoneRequest, true);
  assert.equal((await ask({ adapterID: 'kdive', pathFormat: 'path' })).success, true);
  const uri = await ask({ adapterID: 'kdive', pathFormat: 'uri' });
  assert.equal(uri.success, false);
});
