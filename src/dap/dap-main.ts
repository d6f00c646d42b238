#!/usr/bin/env node
/** The DAP server on stdio, as an editor (or DebugClient) starts it: `node dist/src/dap/dap-main.js`. */
import { runDapOnStdio } from './dap-server.js';

runDapOnStdio();
