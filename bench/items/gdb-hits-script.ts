/** gdb's side of the breakpoint-hit items: a Python breakpoint that reads the argument registers and never stops. */
export const GDB_HITS_SCRIPT = `
import time
hits = 0
first = last = 0.0
class Hit(gdb.Breakpoint):
    def stop(self):
        global hits, first, last
        f = gdb.selected_frame()
        for r in ('rdi', 'rsi', 'rdx'):
            f.read_register(r)
        now = time.time()
        if hits == 0:
            first = now
        hits += 1
        last = now
        return False
Hit('ksys_read')
def report():
    print('KDIVE-RESULT', hits, last - first)
`;
