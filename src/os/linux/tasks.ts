import { listEntries } from './list.js';
import { cString, readU32, readU64, requireSymbol, type KernelView } from './kernel-view.js';

/** One task as `ps` shows it (include/linux/sched.h). */
export interface TaskInfo {
  address: bigint;
  pid: number;
  tgid: number;
  comm: string;
  /** ps's state letter: R S D T t X Z P I. */
  state: string;
  cpu: number;
  kernelThread: boolean;
}

const PF_KTHREAD = 0x00200000;

/** task_state_to_char() of 6.1 (fs/proc/array.c, include/linux/sched.h). */
export function taskStateChar(state: number, exitState: number): string {
  let st = (state | exitState) & 0x7f;
  if ((state & 0x402) === 0x402) st = 0x80; // TASK_IDLE
  if (state & (0x1000 | 0x8000)) st = 2; // RTLOCK_WAIT, FROZEN count as D
  const fls = st === 0 ? 0 : 32 - Math.clz32(st);
  return 'RSDTtXZPI'[fls] ?? '?';
}

/** Every task: processes through init_task.tasks, and each one's threads (signal->thread_head). */
export async function listTasks(view: KernelView): Promise<TaskInfo[]> {
  const T = 'struct task_struct';
  const t = view.types;
  const tasksOff = await t.offsetOf(T, 'tasks');
  const init = requireSymbol(view, 'init_task');
  const leaders = [init, ...(await listEntries(view, init + BigInt(tasksOff), tasksOff))];
  const threadNode = await t.member(T, 'thread_node');
  const signalOff = await t.member(T, 'signal');
  const threadHead = await t.member('struct signal_struct', 'thread_head');
  const all: bigint[] = [];
  for (const leader of leaders) {
    all.push(leader);
    if (!threadNode || !signalOff || !threadHead || leader === init) continue;
    const signal = await readU64(view, leader + BigInt(signalOff.offset));
    if (signal === 0n) continue;
    for (const thread of await listEntries(view, signal + BigInt(threadHead.offset), threadNode.offset)) if (thread !== leader) all.push(thread);
  }
  return Promise.all(all.map((a) => readTask(view, a)));
}

export async function readTask(view: KernelView, address: bigint): Promise<TaskInfo> {
  const T = 'struct task_struct';
  const t = view.types;
  const off = async (p: string) => BigInt(await t.offsetOf(T, p));
  const stateMember = (await t.member(T, '__state')) ?? (await t.member(T, 'state'))!;
  const cpuMember = (await t.member(T, 'thread_info.cpu')) ?? (await t.member(T, 'cpu'));
  const [pid, tgid, comm, state, exitState, flags, cpu] = await Promise.all([
    readU32(view, address + (await off('pid'))),
    readU32(view, address + (await off('tgid'))),
    view.read(address + (await off('comm')), 16).then(cString),
    readU32(view, address + BigInt(stateMember.offset)),
    readU32(view, address + (await off('exit_state'))),
    readU32(view, address + (await off('flags'))),
    cpuMember ? readU32(view, address + BigInt(cpuMember.offset)) : Promise.resolve(0),
  ]);
  return { address, pid, tgid, comm, state: taskStateChar(state, exitState), cpu, kernelThread: (flags & PF_KTHREAD) !== 0 };
}
