// A complete kdive library script: boot the Debian kernel with KASLR on, stop where the guest's
// mkdir enters the kernel, read typed values, walk the tasks, let the guest finish.
// Run from the repository: node --import tsx examples/trace-mkdir.ts
import { Session, resolveKernel } from 'kdive';

const kernel = await resolveKernel('debian:cloud-amd64');
const session = await Session.boot({ kernel, guestCommand: 'mkdir /tmp/test', kaslr: true });
try {
  await session.addBreakpoint('do_mkdirat');
  const stop = await session.resume();
  if (stop.kind !== 'breakpoint') throw new Error(`expected the breakpoint, got ${stop.kind}`);

  const comm = await session.evaluate('current->comm');
  const path = await session.evaluate('name->name');
  console.log(`do_mkdirat(${path.text}) called by ${comm.text} on CPU ${stop.cpu}`);

  const bt = await session.backtrace();
  console.log(bt.frames.map((f) => `${f.function}${f.file ? ` (${f.file}:${f.line})` : ''}`).join('\n  <- '));

  for (const task of await session.linux.tasks()) {
    if (!task.kernelThread) console.log(`task ${task.pid} ${task.comm} ${task.state}`);
  }

  const end = await session.resume();
  console.log(end.kind === 'exit' ? `guest exited with status ${end.guestStatus}` : `stopped again: ${end.kind}`);
} finally {
  await session.close();
}
