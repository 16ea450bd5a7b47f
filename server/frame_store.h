/* The frame store: what the screen shows now, for encoders that read the plane itself.
 *
 * The shadow framebuffer (vnc_server.h) is what libvncserver's encoders and the CPU
 * encoders read. Encoders that import the guest's buffer directly (VPL: dma-buf → VA
 * surface, zero copy) need the current plane's dma-buf instead; the capture thread
 * publishes it here after every tick (one fd per dmabuf id stays with the capture
 * thread's cache; the store keeps its own dup of the current one).
 *
 * It also tells the capture thread whether anyone reads CPU pixels: while every client
 * takes H.264 straight from the plane (an encoder that imports the dma-buf), the capture
 * thread reads no pixel of the guest's frame (capture.c). The server counts its clients
 * here, and which of them are such zero-copy clients (open_h264.c).
 *
 * Threads: the capture thread publishes; client output threads take snapshots. A mutex
 * guards the store for O(1) time (a dup(2) at most); no other I/O under it. The counters
 * are atomics; the publish hook is set before the capture thread starts.
 */
#ifndef VGPU_FRAME_STORE_H
#define VGPU_FRAME_STORE_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "plane.h"

struct frame_store {
	pthread_mutex_t lock;
	struct plane_info plane; /* the current primary plane; dmabuf_id 0 = none */
	int fd;                  /* dup of the current dma-buf, -1 if none (or a region) */
	uint64_t generation;     /* +1 for every tick that changed pixels, flip or mode */
	atomic_uint clients;     /* clients counted (frame_store_count_client) */
	atomic_uint zero_copy;   /* of which take nothing from the CPU pixels */
	/* Called on the capture thread after every publish (NULL: none). */
	void (*on_publish)(void *arg);
	void *on_publish_arg;
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

/* Any thread: a client came (+1) or went (-1); one of them started (+1) or stopped (-1)
 * taking its pictures straight from the plane. */
void frame_store_count_client(struct frame_store *fs, int delta);
void frame_store_count_zero_copy(struct frame_store *fs, int delta);

/* Capture thread: whether someone may read the shadow framebuffer: true unless there are
 * counted clients and every one of them is a zero-copy client. */
bool frame_store_needs_pixels(struct frame_store *fs);

/* Before the capture thread starts: call fn(arg) after every publish (a capture tick that
 * saw a plane), e.g. to retry what waited for the next frame. */
void frame_store_set_publish_hook(struct frame_store *fs, void (*fn)(void *arg), void *arg);

#endif
