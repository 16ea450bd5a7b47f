/* The kernel test's VM, seen from the host: QEMU, its console, the manager's control line.
 *
 * kvm_start() boots the kernel and initramfs under QEMU (TCG, or KVM when asked) with the
 * guest's port 5900 forwarded to a free loopback port, the console (ttyS0) going to a file
 * and ttyS1 to a unix socket that carries the manager's commands (kernel_patterns.h).
 * kvm_cmd() sends one command and waits for its answer. Single-threaded.
 */
#ifndef VGPU_KERNEL_VM_H
#define VGPU_KERNEL_VM_H

#include <stdbool.h>
#include <sys/types.h>

struct kvm {
	pid_t qemu;
	int ctl;              /* the manager's control line */
	int vnc_port;         /* host loopback port forwarded to the guest's 5900 */
	char console[512];    /* the console log file */
	long seq;
	char rbuf[4096];      /* control bytes read but not used yet */
	size_t rlen;
};

struct kvm_opts {
	const char *kernel, *initrd, *accel, *workdir;
};

/* Boot and wait for the manager's "ready" (up to boot_timeout seconds). 0 or -1 (said
 * why). */
int kvm_start(struct kvm *vm, const struct kvm_opts *o, double boot_timeout);

/* Send "SEQ fmt..." and wait up to timeout seconds for "SEQ ok REST": true and REST in
 * out; false on "err", a timeout or a dead VM (said why). */
bool kvm_cmd(struct kvm *vm, double timeout, char *out, size_t out_len, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));

/* Value of KEY=VALUE in an answer (up to the next space; "msg=" takes the rest). */
bool kvm_field(const char *answer, const char *key, char *val, size_t len);

/* Lines of the console log that report a kernel or sanitizer problem (BUG:, WARNING:,
 * Oops, Call Trace, AddressSanitizer, runtime error ...), printed to stderr. Returns how
 * many. */
int kvm_console_problems(const struct kvm *vm);

/* Print the last lines of the console log to stderr. */
void kvm_dump_console(const struct kvm *vm, int lines);

/* Wait for QEMU to exit (up to timeout seconds), kill it otherwise. */
void kvm_stop(struct kvm *vm, double timeout);

#endif
