/* The frame store: what the screen shows now, for encoders that read the plane itself.
 *
 * The shadow framebuffer (vnc_server.h) is what libvncserver's encoders and the CPU
 * encoders read. Encoders that import the guest's buffer directly (VPL: dma-buf → VA
 * surface, zero copy) need the current plane's dma-buf instead; the capture thread
 * publishes it here after every tick (one fd per dmabuf id stays with the capture
 * thread's cache; the store keeps its own dup of the current one).
 *
 * Threads: the capture thread publishes; client output threads take snapshots. A mutex
 * guards the store for O(1) time (a dup(2) at most); no other I/O under it.
 */
#ifndef VGPU_FRAME_STORE_H
#define VGPU_FRAME_STORE_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "plane.h"

struct frame_store {
	pthread_mutex_t lock;
	struct plane_info plane; /* the current primary plane; dmabuf_id 0 = none */
	int fd;                  /* dup of the current dma-buf, -1 if none (or a region) */
	uint64_t generation;     /* +1 for every tick that changed pixels, flip or mode */
};

struct frame_snapshot {
	struct plane_info plane;
	int fd;                  /* a dup the caller closes, -1 if none */
	uint64_t generation;
};

void frame_store_init(struct frame_store *fs);
void frame_store_destroy(struct frame_store *fs);

/* Capture thread: the plane shown now, with its buffer's fd (borrowed; the store dups it
 * when the id changes). changed: the pixels changed since the last publish. */
void frame_store_publish(struct frame_store *fs, const struct plane_info *plane, int fd,
			 bool changed);

/* Capture thread: the display went off. */
void frame_store_clear(struct frame_store *fs);

/* Any thread: the current frame. 0, or -ENOENT when there is none. */
int frame_store_snapshot(struct frame_store *fs, struct frame_snapshot *out);

uint64_t frame_store_generation(struct frame_store *fs);

#endif
