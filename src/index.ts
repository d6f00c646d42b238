/**
 * kdive as a library: `import { Session, resolveKernel } from 'kdive'`. Everything the REPL and the
 * CLI do goes through these; see the README for a complete script.
 */
export { Session, openSession } from './session/session.js';
export type { AttachOptions, BootOptions, BreakpointOptions, SessionEvent, SessionSpec, SessionThread } from './session/session.js';
export type { Breakpoint, BreakpointLocation } from './session/breakpoints.js';
export type { Arch } from './arch/arch.js';
export type { Backtrace, BacktraceEnd, Frame } from './session/frames.js';
export { KernelSymbols } from './session/kernel-symbols.js';
export type { EvaluatedValue, NamedValue } from './expr/evaluated-value.js';
export { resolveKernel } from './kernels/index.js';
export type { KernelArtifacts } from './kernels/index.js';
export { KdiveError, FormatError, NotFoundError, MissingDependencyError } from './errors.js';
export type { RegisterValues, StopEvent, Target } from './target/target.js';
export { KdpTarget, type KdpConnectOptions, type KdpHostInfo } from './target/kdp/kdp-target.js';
export type { GuestDevicesOptions } from './vm/guest-devices.js';
export { parsePortForward, type PortForward } from './vm/port-forward.js';
export { parseSharedFolder, type SharedFolder } from './vm/virtiofs-share.js';
export { buildRootfsImage } from './rootfs/rootfs-image.js';
